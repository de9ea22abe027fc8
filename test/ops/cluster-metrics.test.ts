import { strict as assert } from 'node:assert';
import { Agent } from 'node:https';
import { STACK_TRACE } from '../support/ext-trust';
import { nonZeroSamples, sampleValue, type Exposition } from '../support/exposition';
import { httpsRequest, type HttpResponse } from '../support/https-client';
import { demoIssue, initDemoInstance, jsonLines, scrape } from '../support/ops-client';
import { NODE_SNAPSHOT_TIMEOUT_MS } from '../../src/server/metrics/cluster-metrics';
import { serveTwoWorkers } from '../support/serve-two-workers';
import { temporaryHome } from '../support/temporary-home';
import { childPids, killAllStsProcesses, type StsProcess } from '../support/unit-cli';
import { until } from '../support/until';

// A longer wait than until's default, polled less often: each check reads several processes' output or scrapes /metrics.
const waitFor = (condition: () => boolean | Promise<boolean>, what: string): Promise<void> => until(condition, what, 20_000, 100);

// With two workers behind one port, a scrape lands on either; every scrape must report the whole
// node: both workers' counters added up, whichever worker answers, and still after a worker is
// replaced.

const ISSUE_PATH = '/adfs/services/trust/13/usernamemixed';
const NOT_SOAP = { method: 'POST', body: '<not-soap/>', headers: { 'content-type': 'application/soap+xml; charset=utf-8' } };

describe('ops: /metrics of a node with two workers', function () {
  this.timeout(120_000);
  const { home } = temporaryHome('trustbridge-ops-cluster-', { beforeRemoving: killAllStsProcesses });
  let sts: StsProcess;
  let ca: string;
  let baseUrl: string;

  before(async () => {
    const demo = initDemoInstance(home);
    ca = demo.ca;
    const cluster = await serveTwoWorkers(home);
    sts = cluster.sts;
    baseUrl = `https://127.0.0.1:${cluster.port}`;
    for (let i = 0; i < 2; i++) {
      const { body, headers } = demoIssue(demo.password);
      assert.equal((await httpsRequest(`${baseUrl}${ISSUE_PATH}`, { ca, method: 'POST', body, headers })).status, 200);
    }
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

  it('the primary not answering (stopped): a scrape is 503 after the worker\'s bound, logged once without a stack; the next scrape is whole again', async () => {
    // One kept-alive connection: the primary hands it to a worker once, and it stays that worker's
    // while the primary is stopped (new connections would wait on the primary's accept).
    const agent = new Agent({ keepAlive: true, maxSockets: 1, ca, servername: 'localhost' });
    try {
      const health = await httpsRequest(`${baseUrl}/healthz`, { ca, agent });
      assert.equal(health.status, 200);
      const primary = sts.pid;
      process.kill(primary, 'SIGSTOP');
      let metrics: HttpResponse;
      try {
        metrics = await httpsRequest(`${baseUrl}/metrics`, { ca, agent });
      } finally {
        process.kill(primary, 'SIGCONT');
      }
      assert.equal(metrics.status, 503, metrics.body);
      assert.equal(metrics.headers['content-type'], 'text/plain; charset=utf-8');
      assert.equal(metrics.body, 'The metrics of this node are unavailable; try again.\n', 'no partial exposition');
      assert.ok(metrics.elapsedMs >= NODE_SNAPSHOT_TIMEOUT_MS - 50 && metrics.elapsedMs < NODE_SNAPSHOT_TIMEOUT_MS + 2000, `answered after ${metrics.elapsedMs} ms`);
      assert.equal(health.socketPort, metrics.socketPort, 'both on the one connection');

      const unavailable = (): Array<Record<string, unknown>> => jsonLines(sts.stdout).filter((l) => l['msg'] === 'metrics of the node unavailable');
      await waitFor(() => unavailable().length > 0, 'the log line');
      const [line, ...more] = unavailable();
      assert.equal(more.length, 0, 'logged once');
      assert.equal(line?.['level'], 'warn');
      assert.equal(line?.['errorName'], 'TimedOutError');
      assert.equal(line?.['errorMessage'], `timed out after ${NODE_SNAPSHOT_TIMEOUT_MS} ms`);
      assert.ok(childPids(sts.pid).includes(line?.['pid'] as number), 'by the worker that served the scrape');
      assert.doesNotMatch(JSON.stringify(line), STACK_TRACE);

      const m = await scrape(baseUrl, ca);
      assert.equal(refusedTotal(m), sent, 'the node\'s counters, whole again');
      assert.equal(sampleValue(m, 'trustbridge_cluster_workers', { state: 'fresh' }), 2);
      assert.equal(sampleValue(m, 'trustbridge_http_requests_total', { route: '/metrics', status: '503' }), 1, 'the failed scrape is counted');
    } finally {
      agent.destroy();
    }
  });
});

