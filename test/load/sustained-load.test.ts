import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { createBenchInstance, type BenchInstance } from '../../bench/instance';
import { cutAssertion } from '../../bench/issue-request';
import { buildMix, MIX_OPERATIONS } from '../../bench/mix-requests';
import { startSts, type StsProcess } from '../../bench/server-process';
import { NODE_MEMORY_TARGET_MB } from '../../bench/report';
import { runSustained, type SustainedResult } from '../../bench/sustained-run';
import { SIGNING_CERTIFICATE_EXPORT } from '../../src/instance/paths';
import { trustedKeyFromCertificate } from '../../src/keys/trusted-key';
import { verifySamlToken } from '../../src/saml/verify-token';
import { parseXmlSafely } from '../../src/xml/safe-parse';

// The sustained load engine (bench/sustained-run.ts, what `node dist/bench/sustained.js` runs) for
// half a minute against a real `sts serve`: Issue, Validate and AssumeRoleWithSAML at a fixed
// arrival rate this 2-core machine sustains even while busy. Asserted: no errors, every Issue
// reply a token whose signature verifies, memory flat. Latency is reported, not asserted: a loaded
// CI machine makes any tight bound flaky (the bench tool gives the verdict against 20 ms).

const REPO_ROOT = resolve(__dirname, '..', '..', '..');
const RATE = 120;
const WARMUP_SECONDS = 5;
const SECONDS = 30;
/** Growth of any process's RSS over the second half that still counts as flat on a busy machine. */
const SECOND_HALF_GROWTH_LIMIT_MB = 20;
/** Every this many Issue replies, one has its signature verified in full (the rest: the markers). */
const VERIFY_EVERY = 50;

describe('load: sustained mixed load against sts serve', function () {
  this.timeout(180_000);
  let inst: BenchInstance;
  let sts: StsProcess;
  let result: SustainedResult;
  const issued: Buffer[] = [];
  let issues = 0;

  before(async () => {
    inst = await createBenchInstance();
    sts = await startSts({ repoRoot: REPO_ROOT, home: inst.home, workers: 1, tlsCertificatePem: inst.tlsCertificatePem, logFile: join(inst.home, 'serve.log') });
    const mix = await buildMix(sts.port, inst);
    result = await runSustained({
      sts,
      inst,
      mix,
      ratePerSecond: RATE,
      warmupSeconds: WARMUP_SECONDS,
      seconds: SECONDS,
      intervalSeconds: 10,
      connections: 16,
      connectionChoice: 'fifo',
      onSuccess: (operation, body) => {
        if (operation === 'Issue' && issues++ % VERIFY_EVERY === 0) issued.push(body);
      },
    });
    const { load, memory } = result;
    const line = (op: string): string => {
      const f = load.byOperation.get(op);
      return f ? `${op} ${f.completed} ok, p50 ${f.p50Ms.toFixed(1)} ms, p99 ${f.p99Ms.toFixed(1)} ms` : `${op} none`;
    };
    console.log(`      ${load.offered} offered at ${RATE}/s over ${SECONDS} s: ${MIX_OPERATIONS.map(line).join('; ')}`);
    console.log(`      RSS: ${memory.map((m) => `pid ${m.pid} max ${m.maxRssMb.toFixed(0)} MB, second half ${m.secondHalfGrowthMb.toFixed(1)} MB (${m.secondHalfSlopeMbPerMin.toFixed(2)} MB/min)`).join('; ')}`);
  });
  after(async () => {
    await sts?.stop();
    inst?.remove();
  });

  it('every request offered was answered with success: no errors, each operation its share', () => {
    const { load } = result;
    assert.deepEqual(load.errorSamples, [], 'no failures');
    assert.equal(load.errors, 0);
    assert.equal(load.completed, load.offered);
    assert.equal(load.offered, RATE * SECONDS);
    for (const op of MIX_OPERATIONS) {
      const completed = load.byOperation.get(op)?.completed ?? 0;
      assert.ok(Math.abs(completed - load.offered / 3) <= 1, `${op}: ${completed} of ${load.offered}`);
    }
  });

  it('the rate offered was the rate asked for, every 10 s', () => {
    const full = result.load.windows.filter((w) => w.seconds >= 9);
    assert.ok(full.length >= 2, `${full.length} full windows`);
    for (const w of full.slice(0, 3)) assert.ok(Math.abs(w.offeredPerSecond - RATE) < RATE * 0.05, `offered ${w.offeredPerSecond}/s`);
  });

  it('every Issue reply carried a token (its RSTR and signature), and the sampled ones verify against the signing certificate', () => {
    assert.ok(issued.length >= (RATE * SECONDS) / 3 / VERIFY_EVERY - 1, `${issued.length} sampled`);
    const trusted = [trustedKeyFromCertificate(readFileSync(join(inst.home, SIGNING_CERTIFICATE_EXPORT), 'utf8'))];
    const ids = new Set<string>();
    for (const body of issued) {
      const assertion = parseXmlSafely(cutAssertion(body.toString('utf8')), { maxBytes: 1 << 20, maxDepth: 64, maxElements: 10_000, maxAttributesPerElement: 64 });
      const verified = verifySamlToken(assertion.documentElement, trusted);
      assert.deepEqual(verified.token.audiences, [inst.appliesTo]);
      ids.add(assertion.documentElement.getAttribute('ID') ?? '');
    }
    assert.equal(ids.size, issued.length, 'each token is a new one');
  });

  it("the CPU figures cover the measured seconds only: the server's, per successful reply, and the generator's, within what the machine has", () => {
    const { cpu, load } = result;
    assert.ok(cpu.serverCpuCores > 0 && cpu.serverCpuCores < availableParallelism(), `server ${cpu.serverCpuCores} cores`);
    const repliesPerSecond = load.completed / load.seconds;
    assert.ok(Math.abs(cpu.serverCpuMsPerOp - (cpu.serverCpuCores * 1000) / repliesPerSecond) < 1e-9, 'per reply is the cores over the replies');
    // One Issue alone is an RSA signature (some 0.25 ms); 120 requests a second leave the server mostly idle.
    assert.ok(cpu.serverCpuMsPerOp > 0.1 && cpu.serverCpuMsPerOp < 50, `${cpu.serverCpuMsPerOp} ms per reply`);
    assert.equal(cpu.generatorCpuCores, load.generatorCpuCores);
    assert.ok(cpu.otherCpuCores >= 0, `the rest of the machine: ${cpu.otherCpuCores} cores`);
    const busy = cpu.serverCpuCores + cpu.generatorCpuCores + cpu.otherCpuCores;
    assert.ok(busy <= availableParallelism() * 1.05, `${busy} of ${availableParallelism()} cores busy`);
  });

  it(`memory stays flat: each process grows by less than ${SECOND_HALF_GROWTH_LIMIT_MB} MB over the second half, and the node stays under ${NODE_MEMORY_TARGET_MB} MB`, () => {
    const { memory, nodePssMb } = result;
    assert.ok(memory.length >= 1);
    for (const m of memory) {
      assert.ok(m.samples >= SECONDS - 2, `${m.samples} samples of pid ${m.pid}`);
      assert.ok(m.secondHalfGrowthMb < SECOND_HALF_GROWTH_LIMIT_MB, `pid ${m.pid} grew ${m.secondHalfGrowthMb.toFixed(1)} MB`);
    }
    assert.ok(nodePssMb > 0 && nodePssMb < NODE_MEMORY_TARGET_MB, `the node's PSS reached ${nodePssMb.toFixed(0)} MB`);
  });
});
