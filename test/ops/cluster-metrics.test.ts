import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nonZeroSamples, sampleValue, type Exposition } from '../support/exposition';
import { httpsRequest } from '../support/https-client';
import { demoIssue, initDemoInstance, jsonLines, scrape } from '../support/ops-client';
import { childPids, freePort, killAllStsProcesses, StsProcess } from '../support/unit-cli';

// With two workers behind one port, a scrape lands on either; every scrape must report the whole
// node: both workers' counters added up, whichever worker answers, and still after a worker is
// replaced.

const ENDPOINTS = /listening on (https:\/\/\S+) \((\d+) workers?\)/;
const ISSUE_PATH = '/adfs/services/trust/13/usernamemixed';
const NOT_SOAP = { method: 'POST', body: '<not-soap/>', headers: { 'content-type': 'application/soap+xml; charset=utf-8' } };

describe('ops: /metrics of a node with two workers', function () {
  this.timeout(120_000);
  let parent: string;
  let sts: StsProcess;
  let ca: string;
  let baseUrl: string;

  before(async () => {
    parent = mkdtempSync(join(tmpdir(), 'trustbridge-ops-cluster-'));
    const home = join(parent, 'instance');
    const demo = initDemoInstance(home);
    ca = demo.ca;
    const port = await freePort();
    baseUrl = `https://127.0.0.1:${port}`;
    sts = new StsProcess(['serve', '--home', home, '--workers', '2', '--port', String(port)]);
    await sts.waitForOutput(ENDPOINTS, 30_000);
    for (let i = 0; i < 2; i++) {
      const { body, headers } = demoIssue(demo.password);
      assert.equal((await httpsRequest(`${baseUrl}${ISSUE_PATH}`, { ca, method: 'POST', body, headers })).status, 200);
    }
  });
  after(async () => {
    await killAllStsProcesses();
    rmSync(parent, { recursive: true, force: true });
  });

  /** How many refused requests each worker logged, by pid. */
  const refusedByPid = (): Map<number, number> => {
    const counts = new Map<number, number>();
    for (const l of jsonLines(sts.stdout)) {
      if (l['msg'] === 'request failed' && l['fault'] === 'soap:VersionMismatch') counts.set(l['pid'] as number, (counts.get(l['pid'] as number) ?? 0) + 1);
    }
    return counts;
  };
  const refusedTotal = (m: Exposition): number | undefined =>
    sampleValue(m, 'trustbridge_requests_total', { api: 'wstrust', operation: 'unknown', outcome: 'fault' });

  let sent = 0;
  it('every scrape adds up both workers, whichever worker serves it', async () => {
    for (; sent < 16; sent++) assert.equal((await httpsRequest(`${baseUrl}${ISSUE_PATH}`, { ca, ...NOT_SOAP })).status, 500);
    const workers = childPids(sts.pid);
    await waitFor(() => refusedByPid().size === 2 && [...refusedByPid().values()].reduce((a, b) => a + b) === sent, 'every refusal logged');
    const byPid = refusedByPid();
    assert.deepEqual([...byPid.keys()].sort(), [...workers].sort(), 'both workers served some');

    for (let scrapes = 0; scrapes < 4; scrapes++) {
      const m = await scrape(baseUrl, ca);
      assert.equal(refusedTotal(m), sent, `scrape ${scrapes + 1}`);
      assert.deepEqual(nonZeroSamples(m, 'trustbridge_faults_total'), { 'api=wstrust,code=soap:VersionMismatch,operation=unknown': sent });
      assert.deepEqual(nonZeroSamples(m, 'trustbridge_tokens_issued_total'), { 'operation=Issue': 2 });
      assert.equal(sampleValue(m, 'trustbridge_request_duration_seconds_count', { api: 'wstrust', operation: 'Issue' }), 2);
      assert.equal(sampleValue(m, 'trustbridge_request_duration_seconds_count', { api: 'wstrust', operation: 'unknown' }), sent);
      assert.equal(sampleValue(m, 'trustbridge_cluster_workers', { state: 'fresh' }), 2);
      assert.equal(sampleValue(m, 'trustbridge_cluster_workers', { state: 'stale' }), 0);
      // Each earlier scrape was counted by the worker that served it, after it answered.
      assert.equal(sampleValue(m, 'trustbridge_http_requests_total', { route: '/metrics', status: '200' }) ?? 0, scrapes);
      // Gauges that every worker reads alike are not added up: one key, one series.
      assert.equal(m.get('trustbridge_signing_key_age_seconds')?.samples.length, 1);
      assert.equal(sampleValue(m, 'trustbridge_build_info', m.get('trustbridge_build_info')?.samples[0]?.labels), 1);
    }
  });

  it('a worker killed and replaced leaves its counts in the node\'s totals: counters never go backwards', async () => {
    const [victim] = childPids(sts.pid);
    assert.ok(victim);
    process.kill(victim, 'SIGKILL');
    await waitFor(() => {
      const pids = childPids(sts.pid);
      return pids.length === 2 && !pids.includes(victim);
    }, 'a replacement worker');
    let m = await scrape(baseUrl, ca);
    await waitFor(async () => {
      m = await scrape(baseUrl, ca);
      return sampleValue(m, 'trustbridge_cluster_workers', { state: 'fresh' }) === 2;
    }, 'the replacement answers the primary');
    assert.equal(refusedTotal(m), sent);
    assert.deepEqual(nonZeroSamples(m, 'trustbridge_tokens_issued_total'), { 'operation=Issue': 2 });
    assert.ok(jsonLines(sts.stdout).some((l) => l['msg'] === 'a worker exited; starting another' && l['workerPid'] === victim));

    for (let i = 0; i < 6; i++, sent++) assert.equal((await httpsRequest(`${baseUrl}${ISSUE_PATH}`, { ca, ...NOT_SOAP })).status, 500);
    assert.equal(refusedTotal(await scrape(baseUrl, ca)), sent);
  });
});

async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
