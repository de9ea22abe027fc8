import { strict as assert } from 'node:assert';
import { DirectoryUnavailableError } from '../../src/core/errors';
import { LdapUserDirectory } from '../../src/identity/ldap/ldap-user-directory';
import type { LdapDirectorySettings } from '../../src/identity/ldap/ldap-settings';
import { NS, TRUST13 } from '../../src/xml/namespaces';
import { recordLogs, recordPassword } from '../support/observed-traffic';
import { parseFault } from '../support/soap-reply';
import { freePort, GROUPS_DN, LDAP_USERS, PEOPLE_DN, startSilentServer, startSlapd, type SilentServer, type Slapd } from '../support/slapd';
import { postToSts, type PostResult } from '../support/sts-post';
import { startTestSts, type TestSts } from '../support/test-sts';
import { buildRst, type SoapVersion } from '../support/wstrust-request';

// The directory is down, unreachable or hangs: the caller gets a Receiver fault saying the identity
// directory is unavailable (not FailedAuthentication: their password may be right) within the
// configured time, the log says which directory failed and why, nothing reaches the ledger, and
// once the directory is back the same STS authenticates again.

const RP = 'https://rp.example.com/';
const CONNECT_MS = 800;
const OPERATION_MS = 800;
// What the machine may add on top of a bound (TLS to the STS, a loaded CI box).
const SLACK_MS = 1500;
const UNAVAILABLE = 'The identity directory is unavailable; try again later.';
const { alice, carol } = LDAP_USERS;
type LdapUser = { readonly uid: string; readonly password: string };

const ldapSection = (url: string, startTls: boolean, caFile: string) => ({
  url,
  startTls,
  caFiles: [caFile],
  connectTimeoutMs: CONNECT_MS,
  operationTimeoutMs: OPERATION_MS,
  bind: { mode: 'direct', userDnTemplate: `uid={user},${PEOPLE_DN}` },
  subjectNameAttribute: 'uid',
});

async function until(condition: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!condition() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  return condition();
}

describe('wstrust with users from LDAP: the directory is down, unreachable or hangs', function () {
  this.timeout(60_000);
  let slapd: Slapd;
  let silent: SilentServer;
  const stses: TestSts[] = [];

  before(async () => {
    slapd = await startSlapd();
    silent = await startSilentServer();
    recordPassword(alice.password, carol.password);
  });
  after(async () => {
    for (const sts of stses) await sts.stop();
    await silent?.close();
    await slapd?.destroy();
  });

  async function stsWith(url: string, startTls: boolean, ldap: Record<string, unknown> = {}): Promise<TestSts> {
    const sts = await startTestSts({ config: { identity: { source: 'ldap', ldap: { ...ldapSection(url, startTls, slapd.caFile), ...ldap } } } });
    stses.push(sts);
    await sts.addRelyingParty({ appliesTo: RP, releasedClaims: ['*'] });
    recordLogs(sts.logs);
    return sts;
  }

  function issue(sts: TestSts, soap: SoapVersion = '1.2', user: LdapUser = alice): Promise<PostResult> {
    const req = buildRst({ soap, appliesTo: RP, usernameToken: { username: user.uid, password: user.password } });
    return postToSts(`${sts.baseUrl}${req.path}`, { ca: sts.tlsCertificatePem, headers: req.headers, body: req.body, timeoutMs: 20_000 });
  }

  /** The exact fault, its timing, its log line and an unchanged ledger; returns the log detail. */
  async function expectUnavailable(sts: TestSts, url: string, soap: SoapVersion, minMs: number, user: LdapUser = alice): Promise<string> {
    const before = await sts.instance.store.ledger.count();
    const res = await issue(sts, soap, user);
    assert.ok(res.elapsedMs < CONNECT_MS + OPERATION_MS + SLACK_MS, `answered after ${res.elapsedMs} ms`);
    assert.ok(res.elapsedMs >= minMs, `answered after ${res.elapsedMs} ms, before the ${minMs} ms bound it should have waited for`);
    assert.equal(res.status, 500, res.body.slice(0, 600));
    const fault = parseFault(res.body);
    if (soap === '1.2') {
      assert.deepEqual(fault.code, { ns: NS.soap12, local: 'Receiver' });
      assert.deepEqual(fault.subcode, { ns: TRUST13.ns, local: 'RequestFailed' });
    } else {
      assert.deepEqual(fault.subcode, { ns: TRUST13.ns, local: 'RequestFailed' });
    }
    assert.equal(fault.reason, UNAVAILABLE);
    assert.equal(fault.requestId, res.requestId);
    assert.doesNotMatch(res.body, /ldap:|ldaps:|127\.0\.0\.1|ECONN|NoSuchObject|ou=|Alice-ldap-pw|Carol-ldap-pw/, 'the caller is not told the directory\'s address or the error');
    assert.equal(await sts.instance.store.ledger.count(), before, 'nothing in the ledger');
    const lines = sts.logs.filter((r) => r.fields['requestId'] === res.requestId);
    assert.equal(lines.length, 1, JSON.stringify(lines));
    const [line] = lines;
    assert.equal(line?.level, 'warn');
    assert.equal(line?.msg, 'request failed');
    assert.equal(line?.fields['fault'], 'wst:RequestFailed');
    assert.equal(line?.fields['reason'], UNAVAILABLE);
    const detail = String(line?.fields['detail']);
    assert.ok(detail.startsWith(`LDAP directory ${url} is unavailable: `), detail);
    assert.doesNotMatch(JSON.stringify(sts.logs), /Alice-ldap-pw|Carol-ldap-pw/);
    return detail;
  }

  it('slapd stopped: the precise fault at once; slapd back: the same STS authenticates again', async () => {
    const sts = await stsWith(slapd.ldapUrl, true);
    assert.equal((await issue(sts)).status, 200, 'works while slapd runs');
    await slapd.stop();
    try {
      const detail = await expectUnavailable(sts, slapd.ldapUrl, '1.2', 0);
      assert.match(detail, /connect or StartTLS failed: connect ECONNREFUSED 127\.0\.0\.1:\d+$/);
      await expectUnavailable(sts, slapd.ldapUrl, '1.1', 0);
    } finally {
      await slapd.start();
    }
    const res = await issue(sts);
    assert.equal(res.status, 200, res.body.slice(0, 600));
  });

  it('the group search fails after a successful bind (its base does not exist): the directory fault at once, no token without the groups', async () => {
    const groupClaim = 'http://schemas.microsoft.com/ws/2008/06/identity/claims/role';
    const sts = await stsWith(slapd.ldapUrl, true, {
      groupSearchBase: 'ou=nowhere,dc=example,dc=org',
      groups: [{ group: 'contractors', claim: groupClaim, value: 'Contractor' }, { group: `cn=staff,${GROUPS_DN}`, claim: groupClaim, value: 'Staff' }],
    });
    // carol has no memberOf: only the search can find her groups.
    for (const soap of ['1.2', '1.1'] as const) {
      const detail = await expectUnavailable(sts, slapd.ldapUrl, soap, 0, carol);
      assert.equal(detail, `LDAP directory ${slapd.ldapUrl} is unavailable: the group search failed: NoSuchObjectError (result code 32)`);
    }
    // alice's groups come from memberOf, with no search: she still gets her token, with her group's claim.
    const res = await issue(sts);
    assert.equal(res.status, 200, res.body.slice(0, 600));
    assert.match(res.body, /<AttributeValue>Staff<\/AttributeValue>/);
  });

  it('LDAPS to a port where nothing listens', async () => {
    const url = `ldaps://localhost:${await freePort()}`;
    const detail = await expectUnavailable(await stsWith(url, false), url, '1.2', 0);
    assert.match(detail, /connect failed: connect ECONNREFUSED/);
  });

  it('LDAPS to a server that accepts TCP and never answers: the TLS handshake is cut off at connectTimeoutMs', async () => {
    const url = `ldaps://localhost:${silent.port}`;
    const accepted = silent.accepted();
    const detail = await expectUnavailable(await stsWith(url, false), url, '1.2', CONNECT_MS);
    assert.equal(detail, `LDAP directory ${url} is unavailable: no connection within ${CONNECT_MS} ms (connectTimeoutMs)`);
    assert.equal(silent.accepted(), accepted + 1);
    assert.ok(await until(() => silent.open() === 0, 2000), 'the connection was closed, not left open');
  });

  it('ldap:// with StartTLS to a server that never answers: the StartTLS request is cut off at connectTimeoutMs', async () => {
    const url = `ldap://127.0.0.1:${silent.port}`;
    const detail = await expectUnavailable(await stsWith(url, true), url, '1.1', CONNECT_MS);
    assert.equal(detail, `LDAP directory ${url} is unavailable: no connection within ${CONNECT_MS} ms (connectTimeoutMs)`);
    assert.ok(await until(() => silent.open() === 0, 2000), 'the connection was closed, not left open');
  });

  it('plain ldap:// on loopback to a server that never answers: the bind is cut off at operationTimeoutMs', async () => {
    const url = `ldap://127.0.0.1:${silent.port}`;
    const detail = await expectUnavailable(await stsWith(url, false), url, '1.2', OPERATION_MS);
    assert.equal(detail, `LDAP directory ${url} is unavailable: no answer within ${OPERATION_MS} ms (operationTimeoutMs) to a bind`);
    assert.ok(await until(() => silent.open() === 0, 2000), 'the connection was closed, not left open');
  });

  it('concurrent requests during a hang each end within the bound (no queueing behind one another)', async () => {
    const settings: LdapDirectorySettings = {
      url: `ldaps://localhost:${silent.port}`,
      startTls: false,
      caCertificates: [slapd.caPem],
      connectTimeoutMs: CONNECT_MS,
      operationTimeoutMs: OPERATION_MS,
      bind: { mode: 'direct', userDnTemplate: `uid={user},${PEOPLE_DN}` },
      subjectNameAttribute: null,
      claims: {},
      groupSearchBase: null,
      groupSearchFilter: '(member={dn})',
      groupClaims: [],
    };
    const directory = new LdapUserDirectory(settings);
    const started = Date.now();
    const outcomes = await Promise.allSettled(Array.from({ length: 8 }, () => directory.authenticateWithPassword('alice', alice.password)));
    const elapsed = Date.now() - started;
    assert.ok(elapsed < CONNECT_MS + SLACK_MS, `all answered within ${elapsed} ms`);
    for (const o of outcomes) {
      assert.equal(o.status, 'rejected');
      assert.ok(o.reason instanceof DirectoryUnavailableError);
    }
    assert.ok(await until(() => silent.open() === 0, 2000), 'every connection was closed');
  });
});
