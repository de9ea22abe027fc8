import { strict as assert } from 'node:assert';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AWS_SAML } from '../../src/core/aws-saml';
import { verifyLedgerChain } from '../../src/store/ledger-chain';
import { NS, TRUST13 } from '../../src/xml/namespaces';
import { ROLE_ARN, OTHER_ROLE_ARN, SELF_PROVIDER_ARN, b64, expectAwsRefusal, expectCredentials } from '../support/aws-sts';
import { STACK_TRACE } from '../support/ext-trust';
import {
  certificateBase64,
  NODE_PASSWORD,
  NODE_RP,
  NODE_USER,
  runConcurrently,
  startSharedStoreCluster,
  type SharedStoreCluster,
  type StsNode,
} from '../support/multinode';
import { only, parseFault, parseStrict, text } from '../support/soap-reply';
import { postToSts, type PostResult } from '../support/sts-post';
import { appliesTo, assertionText, pathOf, trustRequest } from '../support/trust-messages';
import { buildRst } from '../support/wstrust-request';
import { idOf, signingCertificateOf } from '../support/xml-edit';

// Two `sts serve` processes on one PostgreSQL database behave as one STS (DESIGN.md decision 6):
// what one node issues, the other validates, renews and cancels; a replay caught on one is caught
// on the other; a key rotation reaches both within seconds; and the issuance ledger stays one
// unbroken hash chain while both append to it, even when a node is killed in the middle.

type Op = 'Issue' | 'Validate' | 'Renew' | 'Cancel';
const T = TRUST13.ns;
const target = (op: Exclude<Op, 'Issue'>, xml: string): string => `<t:${op}Target>${xml}</t:${op}Target>`;
const STATUS_TYPE = `<t:TokenType>${T}/RSTR/Status</t:TokenType>`;

async function send(node: StsNode, op: Op, rstBody: string): Promise<PostResult> {
  const { body, headers } = trustRequest({ version: '1.3', username: NODE_USER, password: NODE_PASSWORD, requestType: op, rstBody, messageId: `urn:uuid:${randomUUID()}` });
  const res = await postToSts(`${node.baseUrl}${pathOf('1.3')}`, { ca: node.tlsCertificatePem, headers, body });
  assert.doesNotMatch(res.body, STACK_TRACE, `${node.name} leaks internals: ${res.body.slice(0, 1000)}`);
  return res;
}

async function issue(node: StsNode, rp = NODE_RP): Promise<string> {
  const res = await send(node, 'Issue', appliesTo(rp));
  assert.equal(res.status, 200, `Issue on ${node.name}: ${res.body.slice(0, 800)}`);
  return assertionText(res.body);
}

/** Validate with TokenType Status: the status code and reason the node answers. */
async function validate(node: StsNode, token: string): Promise<{ valid: boolean; reason: string }> {
  const res = await send(node, 'Validate', STATUS_TYPE + target('Validate', token));
  assert.equal(res.status, 200, `Validate on ${node.name}: ${res.body.slice(0, 800)}`);
  const body = only(parseStrict(res.body).documentElement, NS.soap12, 'Body');
  const status = only(only(body, T, 'RequestSecurityTokenResponse'), T, 'Status');
  const code = text(only(status, T, 'Code'));
  assert.ok(code === `${T}/status/valid` || code === `${T}/status/invalid`, code);
  return { valid: code === `${T}/status/valid`, reason: text(only(status, T, 'Reason')) };
}

/** AssumeRoleWithSAML at a node with one of Trustbridge's own assertions. */
function exchange(node: StsNode, assertion: string, roleArn = ROLE_ARN): Promise<PostResult> {
  return postToSts(`${node.baseUrl}/`, {
    ca: node.tlsCertificatePem,
    headers: { 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8' },
    body: new URLSearchParams({ Version: '2011-06-15', Action: 'AssumeRoleWithSAML', RoleArn: roleArn, PrincipalArn: SELF_PROVIDER_ARN, SAMLAssertion: b64(assertion) }).toString(),
  });
}

/** Waits for a node's log line about `requestId` (logs arrive over a pipe, just after the reply). */
async function waitForLog(node: StsNode, requestId: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!node.logs.some((r) => r.fields['requestId'] === requestId) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
}

async function activeCertificate(cluster: SharedStoreCluster): Promise<string> {
  const active = (await cluster.store.signingKeys.list()).filter((k) => k.state === 'active');
  assert.equal(active.length, 1);
  return certificateBase64((active[0] as { certificatePem: string }).certificatePem);
}

async function expectIntactChain(cluster: SharedStoreCluster, entries: number): Promise<void> {
  const verdict = await verifyLedgerChain((after, limit) => cluster.store.ledger.chain(after, limit), cluster.ledgerTrust, { pageSize: 500 });
  assert.equal(verdict.broken, null, `the chain is broken: ${JSON.stringify(verdict)}`);
  assert.equal(verdict.entries, entries);
  assert.equal(verdict.unkeyedEntries, 0, 'every node keyed its entries with the one chain key');
  assert.equal(await cluster.store.ledger.count(), entries);
}

describe('multinode: two sts serve processes sharing one PostgreSQL', function () {
  this.timeout(180_000);
  let cluster: SharedStoreCluster;
  let a: StsNode;
  let b: StsNode;

  before(async () => {
    cluster = await startSharedStoreCluster(2);
    [a, b] = cluster.nodes as [StsNode, StsNode];
  });
  after(async () => {
    await cluster?.close();
  });

  it('each node is a process of its own with its own audit file; the store holds both nodes\' events', async () => {
    assert.notEqual(a.process.pid, b.process.pid);
    const onA = await send(a, 'Issue', appliesTo(NODE_RP));
    const onB = await send(b, 'Issue', appliesTo(NODE_RP));
    assert.equal(onA.status, 200);
    assert.equal(onB.status, 200);
    const auditFile = (node: StsNode): string => readFileSync(join(node.home, 'audit.jsonl'), 'utf8');
    const stored = async (): Promise<string[]> => (await cluster.store.audit.query({ limit: 100, principal: NODE_USER })).map((e) => e.requestId ?? '');
    const deadline = Date.now() + 5000;
    while (!(auditFile(a).includes(onA.requestId) && auditFile(b).includes(onB.requestId) && (await stored()).includes(onB.requestId) && (await stored()).includes(onA.requestId))) {
      assert.ok(Date.now() < deadline, 'the audit events did not arrive');
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(!auditFile(a).includes(onB.requestId), "B's event is in A's audit file");
    assert.ok(!auditFile(b).includes(onA.requestId), "A's event is in B's audit file");
  });

  it('each node warns once at start-up that the test cluster\'s settings (synchronous_commit, fsync, full_page_writes off) let acknowledged writes be lost', () => {
    for (const node of [a, b]) {
      const warned = node.logs.filter((l) => l.msg === 'a database setting lets acknowledged writes be lost');
      assert.deepEqual(
        warned.map((l) => [l.level, l.fields['setting'], l.fields['value']]),
        [
          ['warn', 'fsync', 'off'],
          ['warn', 'full_page_writes', 'off'],
          ['warn', 'synchronous_commit', 'off'],
        ],
      );
      assert.match(String(warned[2]?.fields['risk']), /crash loses the last commits/);
    }
  });

  it('a token issued by A validates on B, is renewed on B (the renewal validates on A), and cancelled on B is invalid on A', async () => {
    const token = await issue(a);
    assert.equal((await validate(b, token)).valid, true);

    const renewed = await send(b, 'Renew', target('Renew', token));
    assert.equal(renewed.status, 200, renewed.body.slice(0, 800));
    const renewal = assertionText(renewed.body);
    assert.notEqual(idOf(renewal), idOf(token));
    assert.equal((await cluster.store.ledger.get(idOf(renewal)))?.renewedFrom, idOf(token));
    assert.equal((await validate(a, renewal)).valid, true);

    const cancelled = await send(b, 'Cancel', target('Cancel', token));
    assert.equal(cancelled.status, 200, cancelled.body.slice(0, 800));
    assert.ok((await cluster.store.ledger.get(idOf(token)))?.cancelledAt instanceof Date);
    const onA = await validate(a, token);
    assert.equal(onA.valid, false);
    assert.match(onA.reason, /cancel/i);
    // Cancelled on one node means cancelled everywhere: A refuses to renew or cancel it again.
    const renewOnA = await send(a, 'Renew', target('Renew', token));
    assert.equal(renewOnA.status, 400);
    assert.deepEqual(parseFault(renewOnA.body).subcode, { ns: T, local: 'UnableToRenew' });
    const cancelOnA = await send(a, 'Cancel', target('Cancel', token));
    assert.equal(cancelOnA.status, 400);
    assert.match(parseFault(cancelOnA.body).reason, /already cancelled/);
    assert.equal((await validate(b, renewal)).valid, true, 'the renewal is a token of its own');
  });

  it('a UsernameToken nonce used at A is refused when the same message is replayed to B (wsse:InvalidSecurity)', async () => {
    const req = buildRst({
      appliesTo: NODE_RP,
      usernameToken: { username: NODE_USER, password: NODE_PASSWORD, nonce: randomBytes(16), created: new Date().toISOString() },
    });
    const first = await postToSts(`${a.baseUrl}${req.path}`, { ca: a.tlsCertificatePem, headers: req.headers, body: req.body });
    assert.equal(first.status, 200, first.body.slice(0, 800));
    const ledgerBefore = await cluster.store.ledger.count();
    const replay = await postToSts(`${b.baseUrl}${req.path}`, { ca: b.tlsCertificatePem, headers: req.headers, body: req.body });
    assert.equal(replay.status, 400, replay.body.slice(0, 800));
    const fault = parseFault(replay.body);
    assert.deepEqual(fault.code, { ns: NS.soap12, local: 'Sender' });
    assert.deepEqual(fault.subcode, { ns: NS.wsse, local: 'InvalidSecurity' });
    assert.match(fault.reason, /nonce has been used before/);
    assert.doesNotMatch(replay.body, /<Assertion[\s>]/, 'no token for a replay');
    assert.equal(await cluster.store.ledger.count(), ledgerBefore, 'nothing issued for the replay');
    // And the other way round: a fresh nonce at B, replayed to A.
    const other = buildRst({ appliesTo: NODE_RP, usernameToken: { username: NODE_USER, password: NODE_PASSWORD, nonce: randomBytes(16), created: new Date().toISOString() } });
    assert.equal((await postToSts(`${b.baseUrl}${other.path}`, { ca: b.tlsCertificatePem, headers: other.headers, body: other.body })).status, 200);
    const back = await postToSts(`${a.baseUrl}${other.path}`, { ca: a.tlsCertificatePem, headers: other.headers, body: other.body });
    assert.deepEqual(parseFault(back.body).subcode, { ns: NS.wsse, local: 'InvalidSecurity' });
  });

  it('an assertion exchanged with AssumeRoleWithSAML at A is refused when replayed to B (once-per-role), still good for its other role', async () => {
    const token = await issue(a, AWS_SAML.appliesTo);
    expectCredentials(await exchange(a, token));
    const replay = await exchange(b, token);
    await waitForLog(b, String(replay.headers['x-amzn-requestid']));
    const { log } = expectAwsRefusal(b, replay, {
      status: 400,
      code: 'InvalidIdentityToken',
      message: 'This SAML assertion has already been exchanged for credentials for this role.',
    });
    assert.equal(log['replay'], true);
    expectCredentials(await exchange(b, token, OTHER_ROLE_ARN));
    const again = await exchange(a, token, OTHER_ROLE_ARN);
    await waitForLog(a, String(again.headers['x-amzn-requestid']));
    expectAwsRefusal(a, again, { status: 400, code: 'InvalidIdentityToken', message: 'This SAML assertion has already been exchanged for credentials for this role.' });
  });

  it('`sts keys rotate --now` on the shared store: both nodes sign with the new key within 6 s, and tokens of the old key still validate on both', async () => {
    const oldCertificate = await activeCertificate(cluster);
    const before = [await issue(a), await issue(b)];
    for (const t of before) assert.equal(signingCertificateOf(t), oldCertificate);

    const rotate = await cluster.sts(a, ['keys', 'rotate', '--now']);
    assert.equal(rotate.status, 0, rotate.stderr);
    const rotatedAt = Date.now();
    const newCertificate = await activeCertificate(cluster);
    assert.notEqual(newCertificate, oldCertificate);

    const switchedAfter = new Map<string, number>();
    while (switchedAfter.size < 2 && Date.now() - rotatedAt < 6500) {
      for (const node of [a, b]) {
        if (switchedAfter.has(node.name)) continue;
        if (signingCertificateOf(await issue(node)) === newCertificate) switchedAfter.set(node.name, Date.now() - rotatedAt);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.deepEqual([...switchedAfter.keys()].sort(), [a.name, b.name], `switched: ${JSON.stringify([...switchedAfter])}`);
    for (const [name, ms] of switchedAfter) assert.ok(ms <= 6500, `${name} switched after ${ms} ms`);
    // Once switched, a node keeps signing with the new key.
    for (const node of [a, b]) assert.equal(signingCertificateOf(await issue(node)), newCertificate);

    for (const node of [a, b]) for (const t of before) assert.equal((await validate(node, t)).valid, true, `an old-key token on ${node.name}`);
    const fresh = await issue(b);
    assert.equal((await validate(a, fresh)).valid, true, 'a new-key token from B validates on A');
  });

  it('200 Issues spread over both nodes at once: the ledger holds exactly 200 more entries and its chain verifies', async () => {
    const before = await cluster.store.ledger.count();
    const outcomes = await runConcurrently(200, 16, (i) => issue(i % 2 === 0 ? a : b));
    const failed = outcomes.filter((o) => o.status === 'rejected');
    assert.deepEqual(failed, []);
    const ids = outcomes.map((o) => idOf((o as PromiseFulfilledResult<string>).value));
    assert.equal(new Set(ids).size, 200);
    await expectIntactChain(cluster, before + 200);
    for (const id of ids) assert.ok(await cluster.store.ledger.get(id), `${id} is not in the ledger`);
  });

  it('a node killed with SIGKILL in the middle of load, then restarted: the chain is intact and every token answered is in it', async () => {
    const before = await cluster.store.ledger.count();
    const answered: string[] = [];
    let killed = false;
    const outcomes = await runConcurrently(240, 16, async (i) => {
      const node = i % 2 === 0 ? a : b;
      if (!killed && answered.length >= 60) {
        killed = true;
        b.process.child.kill('SIGKILL');
      }
      const token = await issue(node);
      answered.push(idOf(token));
      return node.name;
    });
    assert.ok(killed);
    const exit = await b.process.waitForExit(10_000);
    assert.equal(exit.signal, 'SIGKILL');
    const byNode = (name: string) => outcomes.filter((o) => o.status === 'fulfilled' && o.value === name).length;
    assert.equal(byNode(a.name), 120, 'A answered every request sent to it');
    assert.ok(byNode(b.name) < 120, 'B stopped answering when killed');

    await b.restart();
    answered.push(idOf(await issue(b)), idOf(await issue(a)));
    const verdict = await verifyLedgerChain((after, limit) => cluster.store.ledger.chain(after, limit), cluster.ledgerTrust, { pageSize: 500 });
    assert.equal(verdict.broken, null, `the chain is broken: ${JSON.stringify(verdict)}`);
    const count = await cluster.store.ledger.count();
    assert.equal(verdict.entries, count);
    // Every answered token is recorded; a few more may be, whose replies B never sent.
    assert.ok(count >= before + answered.length, `${count - before} new entries for ${answered.length} answered tokens`);
    assert.ok(count <= before + 240 + 2);
    for (const id of answered) assert.ok(await cluster.store.ledger.get(id), `${id} was answered but is not in the ledger`);
    assert.equal((await validate(b, await issue(a))).valid, true, 'the restarted node serves');
  });
});
