import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AWS_SAML } from '../../src/core/aws-saml';
import { verifyLedgerChain } from '../../src/store/ledger-chain';
import { TRUST13 } from '../../src/xml/namespaces';
import { awsError, b64, expectCredentials, ROLE_ARN, SELF_PROVIDER_ARN } from '../support/aws-sts';
import { STACK_TRACE } from '../support/ext-trust';
import { httpsRequest } from '../support/https-client';
import { NODE_PASSWORD, NODE_RP, NODE_USER, startSharedStoreCluster, type SharedStoreCluster, type StsNode } from '../support/multinode';
import { startTestCluster, stopTestCluster } from '../support/postgres';
import { parseFault } from '../support/soap-reply';
import { postToSts, type PostResult } from '../support/sts-post';
import { appliesTo, assertionText, pathOf, trustRequest } from '../support/trust-messages';
import { idOf } from '../support/xml-edit';
import { isAlive } from '../support/unit-cli';

// PostgreSQL stops under steady Issue and AssumeRoleWithSAML traffic to two nodes, stays down for
// a few seconds, and starts again on the same port and data. While it is down every request must
// fail cleanly (a Receiver fault or a 5xx AWS error, answered quickly, nothing internal in it) and
// /readyz must say so; once it is back the same processes serve again, unrestarted, and every token
// a client received is in one unbroken ledger chain.

const OUTAGE_MS = 5000;
const STEADY_MS = 3000;
/** How long the nodes may take to serve again once PostgreSQL accepts connections. */
const RECOVERY_BOUND_MS = 15_000;
/** The client gives up on a request after this: the pool's connect timeout, 10 s (a timed-out request counts as unclean). */
const ANSWER_BOUND_MS = 10_000;
/** A failure must come well before that: a refused connection costs milliseconds, so a slow failure means a wait somewhere. */
const FAILURE_BOUND_MS = 5_000;
const LOOPS_PER_OPERATION = 2;
/** AWS assertions kept back for the outage: outside it, an exchange waits rather than take the stock below this. */
const AWS_TOKEN_RESERVE = 30;
const PAUSE_MS = 20;

type Phase = 'before' | 'outage' | 'recovery' | 'after';
type Operation = 'Issue' | 'AssumeRoleWithSAML';

interface Answer {
  readonly phase: Phase;
  readonly operation: Operation;
  readonly node: string;
  readonly at: number;
  readonly ok: boolean;
  readonly status: number;
  readonly elapsedMs: number;
  /** For a failure: the fault's or error's code, as `Receiver/wst:RequestFailed` or `InternalFailure`. */
  readonly failure?: string;
  readonly message?: string;
}

const T = TRUST13.ns;

function issueRequest(rp: string): { body: string; headers: Record<string, string> } {
  return trustRequest({ version: '1.3', username: NODE_USER, password: NODE_PASSWORD, requestType: 'Issue', rstBody: appliesTo(rp), messageId: `urn:uuid:${randomUUID()}` });
}

function exchangeRequest(assertion: string): { body: string; headers: Record<string, string> } {
  return {
    headers: { 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8' },
    body: new URLSearchParams({ Version: '2011-06-15', Action: 'AssumeRoleWithSAML', RoleArn: ROLE_ARN, PrincipalArn: SELF_PROVIDER_ARN, SAMLAssertion: b64(assertion) }).toString(),
  };
}

/** GET /readyz: its status and the store check's result. */
async function readiness(node: StsNode): Promise<{ status: number; store: string }> {
  const res = await httpsRequest(`${node.baseUrl}/readyz`, { ca: node.tlsCertificatePem, timeoutMs: 5000 });
  return { status: res.status, store: (JSON.parse(res.body) as { checks: { store: string } }).checks.store };
}

/**
 * Steady traffic: loops sending Issue (alternately for the relying party and for AWS, the AWS ones
 * feeding the exchange loops) and AssumeRoleWithSAML (each assertion exchanged once: the nodes keep
 * AWS's once-per-role rule, so an assertion goes back to the stock only when its exchange failed).
 */
class Traffic {
  phase: Phase = 'before';
  readonly answers: Answer[] = [];
  /** Every token a client received, by ID. */
  readonly received = new Set<string>();
  /** Anything that is not a clean answer: a network error, a timeout, an unexpected body. */
  readonly unclean: string[] = [];
  private running = true;
  private readonly loops: Promise<void>[] = [];
  private turn = 0;
  private issues = 0;

  constructor(
    private readonly nodes: readonly StsNode[],
    private readonly awsTokens: string[],
  ) {
    for (let i = 0; i < LOOPS_PER_OPERATION; i++) {
      this.loops.push(this.loop(() => this.issue()));
      this.loops.push(this.loop(() => this.exchange()));
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  private nextNode(): StsNode {
    return this.nodes[this.turn++ % this.nodes.length] as StsNode;
  }

  private async loop(send: () => Promise<void>): Promise<void> {
    while (this.running) {
      try {
        await send();
      } catch (err) {
        this.unclean.push(`${this.phase}: ${(err as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, PAUSE_MS));
    }
  }

  private async issue(): Promise<void> {
    const node = this.nextNode();
    const forAws = this.issues++ % 2 === 0;
    const res = await this.post(node, pathOf('1.3'), issueRequest(forAws ? AWS_SAML.appliesTo : NODE_RP));
    if (res.status === 200) {
      const token = assertionText(res.body);
      this.received.add(idOf(token));
      if (forAws) this.awsTokens.push(token);
      this.record('Issue', node, res, true);
      return;
    }
    const fault = parseFault(res.body);
    this.record('Issue', node, res, false, `${fault.code?.local}/${fault.subcode?.ns === T ? 'wst' : fault.subcode?.ns}:${fault.subcode?.local}`, fault.reason);
  }

  private async exchange(): Promise<void> {
    const outage = this.phase === 'outage' || this.phase === 'recovery';
    if (!outage && this.awsTokens.length <= AWS_TOKEN_RESERVE) return;
    const token = this.awsTokens.shift();
    if (token === undefined) return;
    const node = this.nextNode();
    const res = await this.post(node, '/', exchangeRequest(token));
    if (res.status === 200) {
      expectCredentials(res);
      this.record('AssumeRoleWithSAML', node, res, true);
      return;
    }
    this.awsTokens.push(token);
    const e = awsError(res.body);
    this.record('AssumeRoleWithSAML', node, res, false, `${e.type}/${e.code}`, e.message);
  }

  private async post(node: StsNode, path: string, req: { body: string; headers: Record<string, string> }): Promise<PostResult> {
    const res = await postToSts(`${node.baseUrl}${path}`, { ca: node.tlsCertificatePem, headers: req.headers, body: req.body, timeoutMs: ANSWER_BOUND_MS });
    if (STACK_TRACE.test(res.body)) this.unclean.push(`${node.name} leaks internals: ${res.body.slice(0, 500)}`);
    return res;
  }

  /** Filed under the phase in which the answer arrived. */
  private record(operation: Operation, node: StsNode, res: PostResult, ok: boolean, failure?: string, message?: string): void {
    this.answers.push({
      phase: this.phase,
      operation,
      node: node.name,
      at: Date.now(),
      ok,
      status: res.status,
      elapsedMs: res.elapsedMs,
      ...(failure === undefined ? {} : { failure, message }),
    });
  }

  in(phase: Phase): Answer[] {
    return this.answers.filter((a) => a.phase === phase);
  }
}

/** Polls until every node answers /readyz with `status` (and the store check `store`), within `ms`. */
async function waitForReadiness(nodes: readonly StsNode[], status: number, store: string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const seen = await Promise.all(nodes.map((n) => readiness(n)));
    if (seen.every((r) => r.status === status && r.store === store)) return;
    assert.ok(Date.now() < deadline, `/readyz did not say ${status} (store ${store}) within ${ms} ms: ${JSON.stringify(seen)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('multinode: PostgreSQL restarting under load', function () {
  this.timeout(240_000);
  let cluster: SharedStoreCluster;
  let nodes: StsNode[];

  before(async () => {
    cluster = await startSharedStoreCluster(2);
    nodes = cluster.nodes;
    // The test cluster runs with synchronous_commit off for speed; a crash (stop -m immediate) would
    // then lose commits already acknowledged, as it would in production with that setting. This
    // database gets PostgreSQL's default, and the nodes reconnect to take it.
    await cluster.db.query(`ALTER DATABASE ${cluster.db.name} SET synchronous_commit = on`);
    for (const n of nodes) {
      n.process.forceKill();
      await n.process.waitForExit(10_000);
      await n.restart();
    }
  });
  after(async () => {
    await cluster?.close();
  });

  for (const mode of ['fast', 'immediate'] as const) {
    it(`pg_ctl stop -m ${mode}: requests fail cleanly and quickly, /readyz says not ready, and the same processes serve again once it is back`, async () => {
      const pids = nodes.map((n) => n.process.pid);
      // A stock of AWS assertions for the exchanges during the outage, when no Issue succeeds.
      const awsTokens: string[] = [];
      for (let i = 0; i < AWS_TOKEN_RESERVE + 10; i++) {
        const res = await postToSts(`${nodes[i % 2]?.baseUrl}${pathOf('1.3')}`, { ca: nodes[0]!.tlsCertificatePem, ...issueRequest(AWS_SAML.appliesTo) });
        assert.equal(res.status, 200, res.body.slice(0, 500));
        awsTokens.push(assertionText(res.body));
      }
      const ledgerBefore = await cluster.store.ledger.count();

      const traffic = new Traffic(nodes, awsTokens);
      let stoppedAt = 0;
      let restartingAt = 0;
      let startedAt = 0;
      try {
        await new Promise((r) => setTimeout(r, STEADY_MS));
        traffic.phase = 'outage';
        await stopTestCluster(mode);
        stoppedAt = Date.now();
        await waitForReadiness(nodes, 503, 'unavailable', 5000);
        await new Promise((r) => setTimeout(r, Math.max(0, OUTAGE_MS - (Date.now() - stoppedAt))));
        // Answers to requests sent while it was still stopping may be either; judge from here on.
        traffic.phase = 'recovery';
        restartingAt = Date.now();
        await startTestCluster();
        startedAt = Date.now();
        const recovered = (): boolean =>
          nodes.every((n) =>
            (['Issue', 'AssumeRoleWithSAML'] as const).every((op) => traffic.answers.some((a) => a.node === n.name && a.operation === op && a.ok && a.at > startedAt)),
          );
        while (!recovered()) {
          assert.ok(Date.now() - startedAt < RECOVERY_BOUND_MS, `not serving again ${RECOVERY_BOUND_MS} ms after PostgreSQL started`);
          await new Promise((r) => setTimeout(r, 100));
        }
        traffic.phase = 'after';
        await new Promise((r) => setTimeout(r, STEADY_MS));
      } finally {
        await traffic.stop();
      }

      const down = traffic.answers.filter((a) => a.at > stoppedAt + 500 && a.at < restartingAt);
      const failureKinds = new Set(traffic.answers.filter((a) => !a.ok).map((a) => `${a.operation} ${a.status} ${a.failure} ${a.message?.replace(/[0-9a-f-]{36}/, 'ID')}`));
      const recoveryMs = Math.max(...nodes.map((n) => Math.min(...traffic.answers.filter((a) => a.node === n.name && a.ok && a.at > startedAt).map((a) => a.at)))) - startedAt;
      console.log(
        `      [${mode}] answers: ${traffic.answers.length}, during the outage ${down.length} (all failed: ${[...failureKinds].join('; ')}); ` +
          `slowest failure ${Math.round(Math.max(0, ...traffic.answers.filter((a) => !a.ok).map((a) => a.elapsedMs)))} ms; serving again ${recoveryMs} ms after PostgreSQL started`,
      );

      for (const [i, n] of nodes.entries()) {
        assert.equal(n.process.exit, undefined, `${n.name} exited: ${n.process.stderr}`);
        assert.equal(n.process.pid, pids[i], `${n.name} was not restarted`);
        assert.ok(isAlive(n.process.pid));
      }
      assert.deepEqual(traffic.unclean, [], 'every request got a clean answer in time');
      for (const phase of ['before', 'after'] as const) {
        const failed = traffic.in(phase).filter((a) => !a.ok);
        assert.deepEqual(failed, [], `every request ${phase} the outage succeeded`);
        for (const op of ['Issue', 'AssumeRoleWithSAML'] as const) assert.ok(traffic.in(phase).some((a) => a.operation === op), `${op} traffic ${phase} the outage`);
      }

      // During the outage (once PostgreSQL was really down): failures only, each a clean Receiver answer.
      for (const op of ['Issue', 'AssumeRoleWithSAML'] as const) {
        assert.ok(down.filter((a) => a.operation === op).length >= 10, `${op} traffic during the outage`);
      }
      for (const a of down) {
        assert.equal(a.ok, false, `a request succeeded with PostgreSQL down: ${JSON.stringify(a)}`);
      }
      for (const a of traffic.answers.filter((x) => !x.ok)) {
        assert.ok(a.elapsedMs < FAILURE_BOUND_MS, `a failure took ${a.elapsedMs} ms`);
        // SOAP 1.2's HTTP binding puts a Receiver fault on 500; AWS answers a passing outage with 503, which its SDKs retry.
        if (a.operation === 'Issue') {
          assert.equal(a.status, 500, JSON.stringify(a));
          assert.equal(a.failure, 'Receiver/wst:RequestFailed');
          assert.equal(a.message, 'The token store is unavailable; try again later.');
        } else {
          assert.equal(a.status, 503, JSON.stringify(a));
          assert.equal(a.failure, 'Receiver/ServiceUnavailable');
          assert.equal(a.message, 'The request has failed due to a temporary failure of the server.');
        }
      }
      await waitForReadiness(nodes, 200, 'ok', 5000);

      // Every token a client received is in the ledger, and the chain holds.
      for (const id of traffic.received) assert.ok(await cluster.store.ledger.get(id), `${id} was answered but is not in the ledger`);
      const verdict = await verifyLedgerChain((after, limit) => cluster.store.ledger.chain(after, limit), cluster.ledgerTrust, { pageSize: 500 });
      assert.equal(verdict.broken, null, `the chain is broken: ${JSON.stringify(verdict)}`);
      assert.equal(verdict.entries, await cluster.store.ledger.count());
      assert.ok(verdict.entries >= ledgerBefore + traffic.received.size);
      const audit = await cluster.sts(nodes[0] as StsNode, ['audit', 'verify']);
      assert.equal(audit.status, 0, audit.stderr);
      assert.match(audit.stdout, /^ledger chain intact: \d+ entries/);

      // The outage is in each node's log as warnings and errors that name the request, never a secret.
      for (const n of nodes) {
        const logged = n.process.stdout + n.process.stderr;
        assert.ok(!logged.includes(NODE_PASSWORD), `${n.name} logged the user's password`);
        assert.ok(!logged.includes(cluster.db.password), `${n.name} logged the database password`);
        assert.ok(n.logs.some((r) => r.msg === 'not ready'), `${n.name} logged that it was not ready`);
        assert.deepEqual(n.logs.filter((r) => r.msg === 'internal error'), [], `${n.name}: an outage is not an internal error`);
        assert.ok(n.logs.some((r) => r.msg === 'request failed' && String(r.fields['detail']).startsWith('store unavailable: ')), `${n.name} logged why requests failed`);
        const auditFile = readFileSync(join(n.home, 'audit.jsonl'), 'utf8');
        assert.ok(!auditFile.includes(NODE_PASSWORD));
      }
      // The audit events of the outage, which waited in memory, reach the store once it is back.
      await waitForStoredAudit(cluster, nodes, stoppedAt, startedAt);
    });
  }
});

/** Every request a node logged during the outage has its audit event in the store once PostgreSQL is back. */
async function waitForStoredAudit(cluster: SharedStoreCluster, nodes: readonly StsNode[], from: number, to: number): Promise<void> {
  const expected = new Set<string>();
  for (const n of nodes) {
    for (const r of n.logs) {
      if ((r.msg === 'request failed' || r.msg === 'internal error') && typeof r.fields['requestId'] === 'string' && typeof r.fields['time'] === 'string') {
        const at = Date.parse(r.fields['time'] as string);
        if (at > from && at < to) expected.add(r.fields['requestId'] as string);
      }
    }
  }
  assert.ok(expected.size > 0, 'the failed requests of the outage were logged');
  const deadline = Date.now() + 15_000;
  for (;;) {
    const stored = new Set((await cluster.store.audit.query({ limit: 100_000, from: new Date(from - 1000), to: new Date(to + 1000) })).map((e) => e.requestId));
    const missing = [...expected].filter((id) => !stored.has(id));
    if (missing.length === 0) return;
    assert.ok(Date.now() < deadline, `${missing.length} of ${expected.size} audit events of the outage never reached the store`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
