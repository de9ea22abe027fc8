import { strict as assert } from 'node:assert';
import { httpsRequest, type HttpResponse } from '../support/https-client';
import { startTestSts, type TestSts } from '../support/test-sts';

// /readyz: 200 while the store answers and a signing key is loaded; 503 naming the failed check
// (never an error's text) when the store is unavailable, slow or closed. /healthz (liveness) stays 200.

const READY = { status: 'ready', checks: { store: 'ok', signingKey: 'ok', shutdown: 'ok' } };

describe('ops: /readyz', function () {
  this.timeout(30_000);
  let sts: TestSts;
  const get = (path: string): Promise<HttpResponse> => httpsRequest(`${sts.baseUrl}${path}`, { ca: sts.tlsCertificatePem });

  beforeEach(async () => {
    sts = await startTestSts();
  });
  afterEach(async () => {
    await sts?.stop();
  });

  it('is 200 with every check ok', async () => {
    const res = await get('/readyz');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(res.body), READY);
  });

  it('is 503 "unavailable" while the store refuses a ping, and ready again once it answers; liveness stays 200', async () => {
    const store = sts.instance.store;
    const ping = store.ping;
    (store as { ping: () => Promise<void> }).ping = () => Promise.reject(new Error('connect ECONNREFUSED 10.0.0.7:5432 password=hunter2'));
    const res = await get('/readyz');
    assert.equal(res.status, 503);
    assert.deepEqual(JSON.parse(res.body), { status: 'not ready', checks: { store: 'unavailable', signingKey: 'ok', shutdown: 'ok' } });
    assert.doesNotMatch(res.body, /ECONNREFUSED|hunter2/, 'the error text stays in the log');
    assert.equal((await get('/healthz')).status, 200);
    await get('/readyz');

    (store as { ping: () => Promise<void> }).ping = ping;
    assert.equal((await get('/readyz')).status, 200);
    // One line when readiness is lost (with the error), one when it is back; none for the repeated failure.
    const lines = sts.logs.filter((l) => l.msg === 'not ready' || l.msg === 'ready again');
    assert.deepEqual(lines.map((l) => l.msg), ['not ready', 'ready again']);
    assert.equal(lines[0]?.level, 'warn');
    assert.match(String(lines[0]?.fields['errorMessage']), /ECONNREFUSED/);
  });

  it('is 503 "timeout" when the store does not answer within a second', async () => {
    (sts.instance.store as { ping: () => Promise<void> }).ping = () => new Promise(() => undefined);
    const started = Date.now();
    const res = await get('/readyz');
    const took = Date.now() - started;
    assert.equal(res.status, 503);
    assert.deepEqual(JSON.parse(res.body).checks, { store: 'timeout', signingKey: 'ok', shutdown: 'ok' });
    assert.ok(took >= 900 && took < 5000, `answered after ${took} ms`);
  });

  it('is 503 once the store is closed', async () => {
    await sts.instance.store.close();
    const res = await get('/readyz');
    assert.equal(res.status, 503);
    assert.deepEqual(JSON.parse(res.body).checks, { store: 'unavailable', signingKey: 'ok', shutdown: 'ok' });
    assert.equal((await get('/healthz')).status, 200);
  });

  it('is 503 "missing" when no signing key can be had', async () => {
    (sts.instance.signingKeys as { current: () => unknown }).current = () => {
      throw new Error('no key');
    };
    const res = await get('/readyz');
    assert.equal(res.status, 503);
    assert.deepEqual(JSON.parse(res.body).checks, { store: 'ok', signingKey: 'missing', shutdown: 'ok' });
  });
});
