import { strict as assert } from 'node:assert';
import { ConfigError, DEFAULT_CONFIG, validateConfig } from '../../../src/config/config';

/** Expects validateConfig to refuse `raw`, naming `key` in both the error's key and its message. */
function refusedNaming(raw: unknown, key: string): ConfigError {
  let caught: unknown;
  try {
    validateConfig(raw);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError naming ${key}, got ${String(caught)}`);
  assert.equal(caught.key, key);
  assert.ok(caught.message.includes(`"${key}"`), caught.message);
  return caught;
}

describe('config/config validateConfig', () => {
  it('an empty object gives the defaults', () => {
    assert.deepEqual(validateConfig({}), DEFAULT_CONFIG);
  });

  it('the defaults are what the design says', () => {
    const c = validateConfig({});
    assert.equal(c.listen.host, '127.0.0.1');
    assert.equal(c.listen.port, 9443);
    assert.equal(c.publicBaseUrl, '');
    assert.equal(c.store.kind, 'sqlite');
    assert.equal(c.workers, 0);
    assert.equal(c.logLevel, 'info');
    assert.equal(c.limits.maxBodyBytes, 256 * 1024);
    assert.equal(c.limits.maxConcurrentRequests, 0, 'no admission limit unless configured');
    assert.equal(c.limits.maxQueuedRequests, 1000, "HTTP.sys's default request queue length");
    assert.equal(c.audit.unkeyedLedgerEntries, 0, 'no unkeyed ledger entry counts unless configured');
  });

  it('the defaults validate as a whole file (what sts init writes)', () => {
    assert.deepEqual(validateConfig(JSON.parse(JSON.stringify(DEFAULT_CONFIG))), DEFAULT_CONFIG);
  });

  it('a partial section is merged over the section defaults', () => {
    const c = validateConfig({ listen: { port: 8443 }, limits: { maxDepth: 64 } });
    assert.deepEqual(c.listen, { host: '127.0.0.1', port: 8443 });
    assert.equal(c.limits.maxDepth, 64);
    assert.equal(c.limits.maxElements, DEFAULT_CONFIG.limits.maxElements);
  });

  it('accepts good non-default values', () => {
    const c = validateConfig({
      issuer: 'urn:example:sts',
      publicBaseUrl: 'https://sts.example.com:8443',
      logLevel: 'debug',
      workers: 4,
      clockSkewSeconds: 0,
      listen: { host: '0.0.0.0', port: 0 },
    });
    assert.equal(c.issuer, 'urn:example:sts');
    assert.equal(c.publicBaseUrl, 'https://sts.example.com:8443');
    assert.equal(c.listen.port, 0);
  });

  it('does not change DEFAULT_CONFIG when merging', () => {
    const before = JSON.stringify(DEFAULT_CONFIG);
    validateConfig({ listen: { port: 1 }, limits: { maxDepth: 9 } });
    assert.equal(JSON.stringify(DEFAULT_CONFIG), before);
  });

  describe('refuses, naming the key', () => {
    const cases: Array<[string, unknown, string]> = [
      ['a root that is not an object', [], '(root)'],
      ['a null root', null, '(root)'],
      ['an unknown top-level key', { lissten: {} }, 'lissten'],
      ['an unknown nested key', { listen: { prot: 1 } }, 'listen.prot'],
      ['an unknown key in limits', { limits: { maxDepht: 10 } }, 'limits.maxDepht'],
      ['a section that is not an object', { listen: 9443 }, 'listen'],
      ['a null section', { limits: null }, 'limits'],
      ['listen.port "abc"', { listen: { port: 'abc' } }, 'listen.port'],
      ['listen.port "9443" (a string)', { listen: { port: '9443' } }, 'listen.port'],
      ['listen.port 65536', { listen: { port: 65536 } }, 'listen.port'],
      ['listen.port -1', { listen: { port: -1 } }, 'listen.port'],
      ['listen.port 1.5', { listen: { port: 1.5 } }, 'listen.port'],
      ['listen.port null', { listen: { port: null } }, 'listen.port'],
      ['listen.host ""', { listen: { host: '' } }, 'listen.host'],
      ['listen.host 127', { listen: { host: 127 } }, 'listen.host'],
      ['limits.maxDepth 0', { limits: { maxDepth: 0 } }, 'limits.maxDepth'],
      ['limits.maxDepth 1000', { limits: { maxDepth: 1000 } }, 'limits.maxDepth'],
      ['limits.maxBodyBytes 10', { limits: { maxBodyBytes: 10 } }, 'limits.maxBodyBytes'],
      ['limits.maxElements "many"', { limits: { maxElements: 'many' } }, 'limits.maxElements'],
      ['limits.maxAttributesPerElement 0', { limits: { maxAttributesPerElement: 0 } }, 'limits.maxAttributesPerElement'],
      ['limits.maxConcurrentRequests -1', { limits: { maxConcurrentRequests: -1 } }, 'limits.maxConcurrentRequests'],
      ['limits.maxConcurrentRequests 2.5', { limits: { maxConcurrentRequests: 2.5 } }, 'limits.maxConcurrentRequests'],
      ['limits.maxQueuedRequests -1', { limits: { maxQueuedRequests: -1 } }, 'limits.maxQueuedRequests'],
      ['limits.maxQueuedRequests "unbounded"', { limits: { maxQueuedRequests: 'unbounded' } }, 'limits.maxQueuedRequests'],
      ['audit.unkeyedLedgerEntries -1', { audit: { unkeyedLedgerEntries: -1 } }, 'audit.unkeyedLedgerEntries'],
      ['audit.unkeyedLedgerEntries "all"', { audit: { unkeyedLedgerEntries: 'all' } }, 'audit.unkeyedLedgerEntries'],
      ['logLevel "loud"', { logLevel: 'loud' }, 'logLevel'],
      ['logLevel "INFO"', { logLevel: 'INFO' }, 'logLevel'],
      ['logLevel null', { logLevel: null }, 'logLevel'],
      ['publicBaseUrl with a path', { publicBaseUrl: 'https://sts.example.com/adfs' }, 'publicBaseUrl'],
      ['publicBaseUrl with a trailing slash', { publicBaseUrl: 'https://sts.example.com/' }, 'publicBaseUrl'],
      ['publicBaseUrl over http', { publicBaseUrl: 'http://sts.example.com' }, 'publicBaseUrl'],
      ['publicBaseUrl not a string', { publicBaseUrl: 443 }, 'publicBaseUrl'],
      ['issuer not a URI', { issuer: 'not a uri' }, 'issuer'],
      ['issuer empty', { issuer: '' }, 'issuer'],
      ['tls.certificateFile empty', { tls: { certificateFile: '' } }, 'tls.certificateFile'],
      ['tls.privateKeyFile a number', { tls: { privateKeyFile: 1 } }, 'tls.privateKeyFile'],
      ['store.kind "mysql"', { store: { kind: 'mysql' } }, 'store.kind'],
      ['store.kind "postgres" without a url', { store: { kind: 'postgres' } }, 'store.url'],
      ['store.url not a postgres URL', { store: { kind: 'postgres', url: 'mysql://sts@db/tb' } }, 'store.url'],
      ['store.poolSize 0', { store: { poolSize: 0 } }, 'store.poolSize'],
      ['store.passwordFile a number', { store: { passwordFile: 1 } }, 'store.passwordFile'],
      ['store.path empty', { store: { path: '' } }, 'store.path'],
      ['store.busyTimeoutMs 99', { store: { busyTimeoutMs: 99 } }, 'store.busyTimeoutMs'],
      ['store.busyTimeoutMs 600001', { store: { busyTimeoutMs: 600_001 } }, 'store.busyTimeoutMs'],
      ['store.busyTimeoutMs 1.5', { store: { busyTimeoutMs: 1.5 } }, 'store.busyTimeoutMs'],
      ['masterKeyFile empty', { masterKeyFile: '' }, 'masterKeyFile'],
      ['clockSkewSeconds -1', { clockSkewSeconds: -1 }, 'clockSkewSeconds'],
      ['clockSkewSeconds 3601', { clockSkewSeconds: 3601 }, 'clockSkewSeconds'],
      ['usernameTokenMaxAgeSeconds 0', { usernameTokenMaxAgeSeconds: 0 }, 'usernameTokenMaxAgeSeconds'],
      ['workers 1.5', { workers: 1.5 }, 'workers'],
      ['workers 257', { workers: 257 }, 'workers'],
      ['workers "2"', { workers: '2' }, 'workers'],
      ['clientCertificates.caFiles a string', { clientCertificates: { caFiles: 'ca.pem' } }, 'clientCertificates.caFiles'],
      ['clientCertificates.caFiles with an empty entry', { clientCertificates: { caFiles: [''] } }, 'clientCertificates.caFiles'],
      ['clientCertificates.pinnedThumbprints a SHA-1 thumbprint', { clientCertificates: { pinnedThumbprints: ['AB'.repeat(20)] } }, 'clientCertificates.pinnedThumbprints'],
      ['clientCertificates.pinnedThumbprints not hex', { clientCertificates: { pinnedThumbprints: ['zz'.repeat(32)] } }, 'clientCertificates.pinnedThumbprints'],
      ['an unknown key in clientCertificates', { clientCertificates: { cas: [] } }, 'clientCertificates.cas'],
    ];
    for (const [what, raw, key] of cases) {
      it(what, () => {
        refusedNaming(raw, key);
      });
    }
  });

  it('a PostgreSQL store: url, pool size and password file, over the defaults', () => {
    const c = validateConfig({ store: { kind: 'postgres', url: 'postgres://sts@db.internal:5432/trustbridge?sslmode=verify-full', passwordFile: 'pg.password' } });
    assert.deepEqual(c.store, {
      kind: 'postgres',
      path: 'trustbridge.db',
      url: 'postgres://sts@db.internal:5432/trustbridge?sslmode=verify-full',
      poolSize: 10,
      passwordFile: 'pg.password',
      busyTimeoutMs: 5000,
    });
  });

  it('store.busyTimeoutMs: 5000 by default, any whole number of ms from 100 to 600000', () => {
    assert.equal(validateConfig({}).store.busyTimeoutMs, 5000);
    assert.equal(validateConfig({ store: { busyTimeoutMs: 100 } }).store.busyTimeoutMs, 100);
    assert.equal(validateConfig({ store: { busyTimeoutMs: 600_000 } }).store.busyTimeoutMs, 600_000);
  });

  it('a store.url with a password is refused without repeating it', () => {
    const err = refusedNaming({ store: { kind: 'postgres', url: 'postgres://sts:Hunter2-secret@db/tb' } }, 'store.url');
    assert.match(err.message, /must not contain a password: set STS_PG_PASSWORD or store.passwordFile instead/);
    assert.ok(!err.message.includes('Hunter2-secret'), err.message);
  });

  it('the message shows the value found, to help fix it', () => {
    const err = refusedNaming({ listen: { port: 'abc' } }, 'listen.port');
    assert.match(err.message, /"abc"/);
    assert.match(err.message, /0 to 65535/);
    assert.match(refusedNaming({ logLevel: 'loud' }, 'logLevel').message, /debug, info, warn, error/);
  });

  describe('the aws section', () => {
    it('defaults: account 123456789012, provider trustbridge, replay once-per-role, session token key id 1', () => {
      assert.deepEqual(validateConfig({}).aws, {
        accountId: '123456789012',
        providerName: 'trustbridge',
        replay: 'once-per-role',
        sessionTokenKeyId: '1',
        previousSessionTokenKeyIds: [],
      });
    });

    const refusals: ReadonlyArray<[string, Record<string, unknown>, string, RegExp]> = [
      ['an account id that is not 12 digits', { accountId: '12345' }, 'aws.accountId', /12-digit AWS account ID/],
      ['a provider name with a slash', { providerName: 'a/b' }, 'aws.providerName', /IAM SAML provider name/],
      ['an unknown replay rule', { replay: 'twice' }, 'aws.replay', /off, once-per-role, once/],
      ['a session token key id with punctuation', { sessionTokenKeyId: 'k-1' }, 'aws.sessionTokenKeyId', /1 to 16 letters or digits/],
      ['earlier key ids that are not a list of ids', { previousSessionTokenKeyIds: ['ok', ''] }, 'aws.previousSessionTokenKeyIds', /key ids/],
      ['an unknown key in the section', { region: 'us-east-1' }, 'aws.region', /not a known setting/],
    ];
    for (const [what, aws, key, message] of refusals) {
      it(`refuses ${what}, naming ${key}`, () => {
        assert.match(refusedNaming({ aws }, key).message, message);
      });
    }
  });
});

