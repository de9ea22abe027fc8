import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_USER } from '../../src/instance/init-instance';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store';
import { httpsRequest } from '../support/https-client';
import { instanceLedgerTrust } from '../support/ledger-chain-key';
import { demoIssue, HeldRequest, initDemoInstance, jsonLines, waitForInFlight, type Reply } from '../support/ops-client';
import { parseIssueResponse } from '../support/soap-reply';
import { childPids, freePort, isAlive, killAllStsProcesses, StsProcess } from '../support/unit-cli';
import { SAML2_ASSERTION_ID_ATTRIBUTE, verifyWithXmlsec1 } from '../support/xmlsec1';

// `sts serve` stopped with SIGTERM while a request is in flight: the request completes with a valid
// token that is in the ledger, new connections are refused, the process exits 0; /readyz says 503
// while a stopping process still serves; shutdownTimeoutSeconds bounds a request that never ends.

const ENDPOINTS = /listening on (https:\/\/\S+) \((\d+) workers?\)/;
const ISSUE_PATH = '/adfs/services/trust/13/usernamemixed';

describe('ops: graceful shutdown of sts serve', function () {
  this.timeout(120_000);
  let parent: string;

  before(() => {
    parent = mkdtempSync(join(tmpdir(), 'trustbridge-ops-shutdown-'));
  });
  afterEach(async () => {
    await killAllStsProcesses();
  });
  after(() => {
    rmSync(parent, { recursive: true, force: true });
  });

  /** A fresh demo instance served by `sts serve --workers N`. */
  async function serve(name: string, workers: number, config: Record<string, unknown> = {}) {
    const home = join(parent, name);
    const { password, ca } = initDemoInstance(home, config);
    const port = await freePort();
    const sts = new StsProcess(['serve', '--home', home, '--workers', String(workers), '--port', String(port)]);
    await sts.waitForOutput(ENDPOINTS, 30_000);
    return { home, password, ca, sts, baseUrl: `https://127.0.0.1:${port}` };
  }

  const logLine = (sts: StsProcess, msg: string, pid = sts.pid): Record<string, unknown> | undefined =>
    jsonLines(sts.stdout).find((l) => l['msg'] === msg && l['pid'] === pid);

  async function waitForLog(sts: StsProcess, msg: string, pid = sts.pid): Promise<Record<string, unknown>> {
    await sts.waitForOutput(new RegExp(`"msg":"${msg}","pid":${pid}\\b`), 15_000);
    return logLine(sts, msg, pid) as Record<string, unknown>;
  }

  /**
   * No request is served any more and the port refuses connections. A connection made in the
   * instant before the listener closed may still be reset (it was in the accept queue): tried again.
   */
  async function refused(url: string, ca: string): Promise<void> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const err = await httpsRequest(url, { ca }).then(
        (reply) => assert.fail(`served (${reply.status}) after the shutdown began`),
        (e: NodeJS.ErrnoException) => e,
      );
      if (err.code === 'ECONNREFUSED') return;
      assert.equal(err.code, 'ECONNRESET', err.message);
      assert.ok(Date.now() < deadline, 'the port still accepts connections');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** The token in an Issue reply: signed by the instance's key (xmlsec1) and recorded in its ledger. */
  async function expectIssuedToken(reply: Reply, home: string): Promise<void> {
    assert.equal(reply.status, 200, reply.body.slice(0, 500));
    const issued = parseIssueResponse(reply.body, '1.3');
    const certificate = readFileSync(join(home, 'token-signing.crt.pem'), 'utf8');
    const verified = verifyWithXmlsec1(issued.assertionXml, certificate, SAML2_ASSERTION_ID_ATTRIBUTE);
    assert.ok(verified.ok, verified.output);
    const tokenId = issued.assertion.getAttribute('ID') ?? '';
    // With the instance's chain key: only a store that can check a row vouches for it.
    const store = openSqliteStore(join(home, 'trustbridge.db'), { ledgerTrust: instanceLedgerTrust(home) });
    try {
      const entry = await store.ledger.get(tokenId);
      assert.ok(entry, `token ${tokenId} is in the ledger`);
      assert.equal(entry.subject, DEMO_USER);
    } finally {
      await store.close();
    }
  }

  it('a request in flight at SIGTERM completes with a valid token; new connections are refused; exit 0', async () => {
    const { home, password, ca, sts, baseUrl } = await serve('single', 1);
    const held = new HeldRequest(`${baseUrl}${ISSUE_PATH}`, ca, demoIssue(password));
    await waitForInFlight(baseUrl, ca, 2);

    sts.child.kill('SIGTERM');
    const start = await waitForLog(sts, 'shutting down');
    assert.equal(start['inFlight'], 1);
    assert.equal(start['signal'], 'SIGTERM');
    await refused(`${baseUrl}/healthz`, ca);
    assert.equal(sts.exit, undefined, 'the process waits for the request in flight');

    const reply = await held.finish();
    // The answer closes its connection: a keep-alive client moves to another process.
    assert.equal(reply.headers['connection'], 'close');
    const exit = await sts.waitForExit(15_000);
    assert.deepEqual(exit, { code: 0, signal: null }, sts.stderr);
    await expectIssuedToken(reply, home);

    const end = logLine(sts, 'shut down');
    assert.ok(end, sts.stdout);
    assert.equal(end['level'], 'info');
    assert.equal(end['inFlight'], 1);
    assert.equal(end['unfinished'], 0);
    assert.equal(sts.stderr, '', 'nothing but JSON lines from the serving process');
    for (const line of sts.stdout.split('\n').filter((l) => l.startsWith('{'))) JSON.parse(line);
  });

  it('with shutdownDelaySeconds, /readyz answers 503 while the process still serves, then the port closes', async () => {
    const { home, password, ca, sts, baseUrl } = await serve('delay', 1, { shutdownDelaySeconds: 3 });
    assert.equal((await httpsRequest(`${baseUrl}/readyz`, { ca })).status, 200);
    sts.child.kill('SIGTERM');
    await waitForLog(sts, 'shutting down');

    const ready = await httpsRequest(`${baseUrl}/readyz`, { ca });
    assert.equal(ready.status, 503);
    assert.deepEqual(JSON.parse(ready.body), { status: 'not ready', checks: { store: 'ok', signingKey: 'ok', shutdown: 'shutting down' } });
    assert.equal((await httpsRequest(`${baseUrl}/healthz`, { ca })).status, 200, 'alive while stopping');
    const { body, headers } = demoIssue(password);
    const served = await httpsRequest(`${baseUrl}${ISSUE_PATH}`, { ca, method: 'POST', body, headers });
    assert.equal(served.headers['connection'], 'close', 'a stopping process closes connections after their answer');
    await expectIssuedToken(served, home);

    assert.deepEqual(await sts.waitForExit(15_000), { code: 0, signal: null });
    await refused(`${baseUrl}/readyz`, ca);
  });

  it('shutdownTimeoutSeconds bounds a request that never finishes: it is cut off, the process still exits 0', async () => {
    const { password, ca, sts, baseUrl } = await serve('timeout', 1, { shutdownTimeoutSeconds: 1 });
    const held = new HeldRequest(`${baseUrl}${ISSUE_PATH}`, ca, demoIssue(password));
    await waitForInFlight(baseUrl, ca, 2);
    const signalled = Date.now();
    sts.child.kill('SIGTERM');
    assert.deepEqual(await sts.waitForExit(15_000), { code: 0, signal: null });
    const took = Date.now() - signalled;
    assert.ok(took >= 900 && took < 8000, `exited after ${took} ms`);
    await assert.rejects(held.reply, /socket hang up|ECONNRESET/);
    const end = logLine(sts, 'shut down');
    assert.equal(end?.['level'], 'warn');
    assert.equal(end?.['unfinished'], 1);
  });

  it('--workers 2: the primary passes SIGTERM on, the request in flight completes, every process exits', async () => {
    const { home, password, ca, sts, baseUrl } = await serve('cluster', 2);
    const workerPids = childPids(sts.pid);
    assert.equal(workerPids.length, 2);
    const held = new HeldRequest(`${baseUrl}${ISSUE_PATH}`, ca, demoIssue(password));
    await waitForInFlight(baseUrl, ca, 2);

    sts.child.kill('SIGTERM');
    const primary = await waitForLog(sts, 'shutting down');
    assert.equal(primary['workers'], 2);
    const starts = await Promise.all(workerPids.map((pid) => waitForLog(sts, 'shutting down', pid)));
    assert.deepEqual(starts.map((s) => s['inFlight']).sort(), [0, 1], 'one worker holds the request');
    await refused(`${baseUrl}/healthz`, ca);

    const reply = await held.finish();
    assert.deepEqual(await sts.waitForExit(20_000), { code: 0, signal: null }, sts.stderr);
    await expectIssuedToken(reply, home);
    for (const pid of workerPids) assert.equal(isAlive(pid), false, `worker ${pid} still runs`);
    assert.equal(logLine(sts, 'shut down')?.['killed'], 0);
    for (const pid of workerPids) assert.equal(logLine(sts, 'shut down', pid)?.['unfinished'], 0);
  });
});
