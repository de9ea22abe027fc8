import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { SERVING_OLD_GENERATION_GROWTH_PERCENT } from '../../src/server/heap-growth';
import { httpsRequest } from '../support/https-client';
import { jsonLines } from '../support/ops-client';
import { serveTwoWorkers } from '../support/serve-two-workers';
import { temporaryHome } from '../support/temporary-home';
import { childPids, freePort, isAlive, killAllStsProcesses, runSts, StsProcess } from '../support/unit-cli';

const ENDPOINTS = /listening on (https:\/\/\S+) \((\d+) workers?\)/;

/** The first `count` JSON log lines whose msg is `msg`, once they are out. */
async function logLines<T>(sts: StsProcess, msg: string, count: number): Promise<T[]> {
  return (await sts.waitForLines(`"msg":${JSON.stringify(msg)}`, count)).map((l) => JSON.parse(l) as T);
}

/** Where each serving process said it signs tokens: the thread pool while a core is spare per worker. */
const tokenSigningLines = (sts: StsProcess, count: number): Promise<Array<{ on: string; workers: number; cores: number }>> => logLines(sts, 'token signing', count);

/** Keeps the file at `path()` as it was before the describe's tests, restoring it after each; returns what it was. */
function restoredAfterEach(path: () => string): () => string {
  let original = '';
  before(() => {
    original = readFileSync(path(), 'utf8');
  });
  afterEach(() => {
    writeFileSync(path(), original);
  });
  return () => original;
}

describe('cli: sts serve', function () {
  this.timeout(90_000);
  const { dir: parent, home } = temporaryHome('trustbridge-cli-serve-');
  let ca: string;

  before(() => {
    const init = runSts(['init', '--home', home, '--demo']);
    assert.equal(init.status, 0, init.stderr);
    ca = readFileSync(join(home, 'tls', 'localhost.crt.pem'), 'utf8');
  });
  afterEach(async () => {
    await killAllStsProcesses();
  });

  describe('--workers 1', () => {
    it('prints the endpoints, answers /healthz over HTTPS, and exits on SIGTERM', async () => {
      const port = await freePort();
      const sts = new StsProcess(['serve', '--home', home, '--workers', '1', '--port', String(port)]);
      const [, baseUrl, workers] = await sts.waitForOutput(ENDPOINTS);
      assert.equal(baseUrl, `https://localhost:${port}`);
      assert.equal(workers, '1');
      for (const path of [
        '/adfs/services/trust/13/usernamemixed',
        '/adfs/services/trust/2005/usernamemixed',
        '/adfs/services/trust/mex',
        '/FederationMetadata/2007-06/FederationMetadata.xml',
      ]) {
        assert.ok(sts.stdout.includes(`${baseUrl}${path}`), `the endpoint ${path} is not printed:\n${sts.stdout}`);
      }
      assert.ok(sts.stdout.includes(join(home, 'token-signing.crt.pem')));
      const cores = availableParallelism();
      assert.deepEqual(
        (await tokenSigningLines(sts, 1)).map((l) => [l.on, l.workers, l.cores]),
        [[cores > 1 ? 'thread pool' : 'event loop', 1, cores]],
        'one worker with a core to spare signs on the thread pool',
      );
      const heapLines = sts.stdout.split('\n').filter((l) => l.includes('"msg":"heap"'));
      assert.deepEqual(
        heapLines.map((l) => (JSON.parse(l) as { oldGenerationGrowthPercent: number }).oldGenerationGrowthPercent),
        [SERVING_OLD_GENERATION_GROWTH_PERCENT],
        'the serving process caps its old generation once, and says so',
      );

      const health = await httpsRequest(`https://127.0.0.1:${port}/healthz`, { ca });
      assert.equal(health.status, 200);
      assert.deepEqual(JSON.parse(health.body), { status: 'ok' });

      sts.child.kill('SIGTERM');
      const exit = await sts.waitForExit(10_000);
      assert.equal(exit.code, 0, `exit ${JSON.stringify(exit)}; stderr: ${sts.stderr}`);
      await assert.rejects(httpsRequest(`https://127.0.0.1:${port}/healthz`, { ca }), 'the port still answers after SIGTERM');
    });

    it('refuses a client that does not trust its certificate (it really is TLS with our certificate)', async () => {
      const port = await freePort();
      const sts = new StsProcess(['serve', '--home', home, '--workers', '1', '--port', String(port)]);
      await sts.waitForOutput(ENDPOINTS);
      await assert.rejects(httpsRequest(`https://127.0.0.1:${port}/healthz`, { ca: readFileSync(join(home, 'token-signing.crt.pem'), 'utf8') }));
    });
  });

  describe('a broken config.json', () => {
    const configPath = (): string => join(home, 'config.json');
    const original = restoredAfterEach(configPath);

    const cases: Array<[string, (config: Record<string, unknown>) => string, RegExp]> = [
      ['listen.port "abc"', (c) => JSON.stringify({ ...c, listen: { ...(c['listen'] as object), port: 'abc' } }), /config key "listen\.port"/],
      ['an unknown top-level key', (c) => JSON.stringify({ ...c, colour: 'blue' }), /config key "colour" is not a known setting/],
      ['an unknown nested key', (c) => JSON.stringify({ ...c, limits: { ...(c['limits'] as object), maxDepht: 3 } }), /config key "limits\.maxDepht" is not a known setting/],
      ['logLevel "loud"', (c) => JSON.stringify({ ...c, logLevel: 'loud' }), /config key "logLevel"/],
      ['invalid JSON', (c) => JSON.stringify(c).replace(/}$/, ',}'), /is not valid JSON/],
    ];
    for (const [what, breakIt, message] of cases) {
      it(`${what}: sts serve exits non-zero naming the problem, without a stack trace`, async () => {
        writeFileSync(configPath(), breakIt(JSON.parse(original()) as Record<string, unknown>));
        const port = await freePort();
        const sts = new StsProcess(['serve', '--home', home, '--workers', '1', '--port', String(port)]);
        const exit = await sts.waitForExit(20_000);
        assert.notEqual(exit.code, 0, `exit ${JSON.stringify(exit)}`);
        assert.equal(exit.signal, null);
        assert.match(sts.stderr, message);
        assert.ok(sts.stderr.includes(configPath()), `the message does not name the file:\n${sts.stderr}`);
        assert.doesNotMatch(sts.stderr, /\n\s+at /, 'a stack trace was printed');
        assert.doesNotMatch(sts.stdout, /listening/);
      });
    }

    it('the same holds with --workers 2 (the supervisor checks the config before forking)', async () => {
      writeFileSync(configPath(), JSON.stringify({ ...(JSON.parse(original()) as object), listen: { port: 'abc' } }));
      const sts = new StsProcess(['serve', '--home', home, '--workers', '2', '--port', String(await freePort())]);
      const exit = await sts.waitForExit(20_000);
      assert.notEqual(exit.code, 0);
      assert.match(sts.stderr, /config key "listen\.port"/);
      assert.doesNotMatch(sts.stderr, /\n\s+at /);
    });
  });

  describe('the wrong master key (master.key replaced)', () => {
    const keyPath = (): string => join(home, 'master.key');
    const original = restoredAfterEach(keyPath);

    for (const workers of ['1', '2']) {
      // With one worker nothing would fork anyway (sts serve serves in its own process): the count matters for two.
      const forks = workers === '1' ? '' : ', forks no worker,';
      it(`--workers ${workers}: sts serve exits 1 saying a sealed secret could not be opened${forks} and prints neither key nor stack trace`, async () => {
        const wrong = randomBytes(32).toString('base64');
        writeFileSync(keyPath(), `${wrong}\n`);
        const sts = new StsProcess(['serve', '--home', home, '--workers', workers, '--port', String(await freePort())]);
        let forked = 0;
        const counting = setInterval(() => (forked = Math.max(forked, childPids(sts.pid).length)), 20);
        const exit = await sts.waitForExit(20_000).finally(() => clearInterval(counting));
        assert.deepEqual(exit, { code: 1, signal: null });
        assert.equal(sts.stderr, 'sts serve: a sealed secret could not be opened: wrong master key, or the value was altered\n');
        assert.equal(forked, 0, 'no worker was forked');
        assert.doesNotMatch(sts.stdout, /listening/);
        for (const key of [wrong, original().trim()]) assert.ok(!(sts.stdout + sts.stderr).includes(key), 'no master key in the output');
      });
    }
  });

  describe('--workers 2', () => {
    it('both workers answer, and SIGTERM stops every process', async () => {
      const { sts, port, workers: workerPids } = await serveTwoWorkers(home);
      const cores = availableParallelism();
      assert.deepEqual(
        (await tokenSigningLines(sts, 2)).map((l) => [l.on, l.workers, l.cores]),
        Array(2).fill([cores > 2 ? 'thread pool' : 'event loop', 2, cores]),
        `2 workers on ${cores} cores: the thread pool only with a core to spare per worker`,
      );
      assert.deepEqual(
        (await logLines<{ atOnce: number }>(sts, 'password checks', 2)).map((l) => l.atOnce),
        Array(2).fill(Math.max(1, Math.ceil(cores / 2))),
        'each worker hashes its share of the cores at once (passwordChecks.maxConcurrent left automatic)',
      );

      const health = await Promise.all(Array.from({ length: 8 }, () => httpsRequest(`https://127.0.0.1:${port}/healthz`, { ca })));
      assert.deepEqual(health.map((h) => h.status), Array(8).fill(200));

      // A refused WS-Trust request is logged with the pid of the worker that handled it.
      const faults = [];
      for (let i = 0; i < 12; i++) {
        faults.push(
          await httpsRequest(`https://127.0.0.1:${port}/adfs/services/trust/13/usernamemixed`, {
            ca,
            method: 'POST',
            body: '<not-soap/>',
            headers: { 'content-type': 'application/soap+xml; charset=utf-8' },
          }),
        );
      }
      for (const f of faults) assert.ok(f.status >= 400 && f.status < 600, `status ${f.status}`);
      const deadline = Date.now() + 5_000;
      let answeringPids = new Set<number>();
      while (Date.now() < deadline) {
        answeringPids = new Set(
          jsonLines(sts.stdout)
            // The refusals' lines: the primary logs too (at start), but answers nothing.
            .filter((l) => l.msg === 'request failed')
            .map((l) => l.pid)
            .filter((p): p is number => typeof p === 'number'),
        );
        if (answeringPids.size >= 2) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.deepEqual([...answeringPids].sort(), [...workerPids].sort(), `logs came from ${[...answeringPids].join(', ')}`);

      sts.child.kill('SIGTERM');
      const exit = await sts.waitForExit(15_000);
      assert.equal(exit.signal, null, `killed by ${exit.signal}`);
      assert.deepEqual(childPids(sts.pid), []);
      for (const pid of workerPids) {
        const until = Date.now() + 5_000;
        while (isAlive(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
        assert.equal(isAlive(pid), false, `worker ${pid} is still running after the supervisor exited`);
      }
      await assert.rejects(httpsRequest(`https://127.0.0.1:${port}/healthz`, { ca }));
    });

    it('a worker killed from outside is replaced', async () => {
      const { sts, port, workers: [victim] } = await serveTwoWorkers(home);
      assert.ok(victim);
      process.kill(victim, 'SIGKILL');
      const until = Date.now() + 15_000;
      let pids: number[] = [];
      while (Date.now() < until) {
        pids = childPids(sts.pid);
        if (pids.length === 2 && !pids.includes(victim)) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(pids.length, 2, `workers now: ${pids.join(', ')}`);
      assert.ok(!pids.includes(victim));
      assert.match(sts.stdout, /"msg":"a worker exited; starting another"/);
      // Give the new worker a moment to listen, then every request succeeds.
      await new Promise((r) => setTimeout(r, 1500));
      const health = await Promise.all(Array.from({ length: 6 }, () => httpsRequest(`https://127.0.0.1:${port}/healthz`, { ca })));
      assert.deepEqual(health.map((h) => h.status), Array(6).fill(200));
    });
  });

  describe('--dev', () => {
    it('on a fresh directory creates the development instance with the demo user and relying party, and serves', async () => {
      const devHome = join(parent, 'dev');
      const port = await freePort();
      const sts = new StsProcess(['serve', '--dev', '--home', devHome, '--workers', '1', '--port', String(port)]);
      await sts.waitForOutput(ENDPOINTS, 30_000);
      assert.ok(sts.stdout.includes(`created a development instance in ${devHome}`), sts.stdout);
      const devCa = readFileSync(join(devHome, 'tls', 'localhost.crt.pem'), 'utf8');
      const health = await httpsRequest(`https://127.0.0.1:${port}/healthz`, { ca: devCa });
      assert.equal(health.status, 200);
      const credentials = readFileSync(join(devHome, 'demo-credentials.txt'), 'utf8');
      assert.match(credentials, /^user: demo@trustbridge\.localhost$/m);

      const users = runSts(['user', 'list', '--home', devHome]);
      assert.match(users.stdout, /^demo@trustbridge\.localhost \[PasswordDigest allowed\]$/m);
      const rps = runSts(['rp', 'list', '--home', devHome]);
      assert.match(rps.stdout, /^https:\/\/rp\.example\.com\/ /m);

      sts.child.kill('SIGTERM');
      assert.equal((await sts.waitForExit(10_000)).code, 0);

      // A second --dev start reuses the instance: same credentials, no "created".
      const again = new StsProcess(['serve', '--dev', '--home', devHome, '--workers', '1', '--port', String(await freePort())]);
      await again.waitForOutput(ENDPOINTS, 30_000);
      assert.doesNotMatch(again.stdout, /created a development instance/);
      assert.equal(readFileSync(join(devHome, 'demo-credentials.txt'), 'utf8'), credentials);
    });
  });

  it('a port already in use fails with a message, not a hang', async () => {
    const port = await freePort();
    const first = new StsProcess(['serve', '--home', home, '--workers', '1', '--port', String(port)]);
    await first.waitForOutput(ENDPOINTS);
    const second = new StsProcess(['serve', '--home', home, '--workers', '1', '--port', String(port)]);
    const exit = await second.waitForExit(20_000);
    assert.notEqual(exit.code, 0);
    assert.match(second.stderr, /EADDRINUSE|in use/);
  });
});
