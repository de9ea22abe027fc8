import { strict as assert } from 'node:assert';
import { ServerBusyError } from '../../../src/core/errors';
import { AbandonedWhileWaitingError } from '../../../src/core/turns';
import { availableParallelism } from 'node:os';
import { AUTOMATIC_CHECKS_AT_ONCE, checksAtOnce, PasswordCheckLimiter } from '../../../src/identity/password-check-limiter';

/** A check the test finishes by hand, recording when it started and whether it had to wait. */
interface HeldCheck {
  readonly done: Promise<string>;
  finish(): void;
  fail(err: Error): void;
}

describe('identity: the cap on concurrent password checks', () => {
  let started: string[];
  let waitedFlags: Map<string, boolean>;
  beforeEach(() => {
    started = [];
    waitedFlags = new Map();
  });

  const hold = (limiter: PasswordCheckLimiter, name: string): HeldCheck => {
    let finish!: () => void;
    let fail!: (err: Error) => void;
    const gate = new Promise<void>((resolve, reject) => {
      finish = resolve;
      fail = reject;
    });
    const done = limiter.run(async (waited) => {
      started.push(name);
      waitedFlags.set(name, waited);
      await gate;
      return name;
    });
    return { done, finish: () => finish(), fail: (err) => fail(err) };
  };
  // Lets every promise callback that is ready run.
  const settle = () => new Promise((resolve) => setImmediate(resolve));

  it('runs at most maxConcurrent checks at once; the others start in the order they came, as slots free', async () => {
    const limiter = new PasswordCheckLimiter({ maxConcurrent: 2, maxQueued: 10 });
    const checks = ['a', 'b', 'c', 'd', 'e'].map((n) => hold(limiter, n));
    await settle();
    assert.deepEqual(started, ['a', 'b']);
    assert.equal(limiter.active, 2);
    assert.equal(limiter.queued, 3);
    checks[1]?.finish();
    await settle();
    assert.deepEqual(started, ['a', 'b', 'c'], 'the first waiting check takes the freed slot');
    checks[0]?.finish();
    checks[2]?.finish();
    await settle();
    assert.deepEqual(started, ['a', 'b', 'c', 'd', 'e']);
    assert.equal(limiter.active, 2);
    assert.equal(limiter.queued, 0);
    checks[3]?.finish();
    checks[4]?.finish();
    assert.deepEqual(await Promise.all(checks.map((c) => c.done)), ['a', 'b', 'c', 'd', 'e'], 'each caller gets its own result');
    assert.equal(limiter.active, 0);
  });

  it('tells each check whether it waited for its turn', async () => {
    const limiter = new PasswordCheckLimiter({ maxConcurrent: 1, maxQueued: 10 });
    const first = hold(limiter, 'first');
    const second = hold(limiter, 'second');
    await settle();
    first.finish();
    second.finish();
    await Promise.all([first.done, second.done]);
    assert.deepEqual([...waitedFlags], [['first', false], ['second', true]]);
    const later = hold(limiter, 'later');
    later.finish();
    await later.done;
    assert.equal(waitedFlags.get('later'), false, 'a free slot again: no wait');
  });

  it('a full queue refuses the next check at once with ServerBusy (wst:RequestFailed, a Receiver fault), without running it', async () => {
    const limiter = new PasswordCheckLimiter({ maxConcurrent: 1, maxQueued: 2 });
    const held = ['a', 'b', 'c'].map((n) => hold(limiter, n));
    await settle();
    let ran = false;
    await assert.rejects(
      limiter.run(async () => {
        ran = true;
      }),
      (err: unknown) => {
        assert.ok(err instanceof ServerBusyError);
        assert.equal(err.family, 'wst');
        assert.equal(err.code, 'RequestFailed');
        assert.equal(err.receiver, true);
        assert.equal(err.message, 'The STS is busy; try again later.');
        assert.equal(err.logDetail, 'password check refused: 1 running and 2 waiting, the most this process queues');
        return true;
      },
    );
    assert.equal(ran, false);
    assert.equal(limiter.queued, 2, 'the refused check took no place in the queue');
    for (const h of held) h.finish();
    assert.deepEqual(await Promise.all(held.map((h) => h.done)), ['a', 'b', 'c'], 'the queued checks still ran, in order');
    assert.equal(await limiter.run(async () => 'after'), 'after', 'once the queue drains, checks are accepted again');
  });

  it('maxQueued 0: a check finding every slot busy is refused, none waits', async () => {
    const limiter = new PasswordCheckLimiter({ maxConcurrent: 1, maxQueued: 0 });
    const running = hold(limiter, 'a');
    await assert.rejects(limiter.run(async () => 'b'), ServerBusyError);
    running.finish();
    await running.done;
  });

  it("a check that waited, whose client has gone when its turn comes, is not run (no scrypt for nobody); the next takes the slot", async () => {
    const limiter = new PasswordCheckLimiter({ maxConcurrent: 1, maxQueued: 10 });
    const running = hold(limiter, 'running');
    let clientThere = true;
    let ran = false;
    const gone = limiter.run(
      async () => {
        ran = true;
      },
      () => clientThere,
    );
    const next = hold(limiter, 'next');
    await settle();
    clientThere = false;
    running.finish();
    await assert.rejects(gone, AbandonedWhileWaitingError);
    await settle();
    assert.equal(ran, false);
    assert.deepEqual(started, ['running', 'next']);
    next.finish();
    assert.equal(await next.done, 'next');
    assert.equal(limiter.active, 0);
  });

  it('a check that rejects or throws frees its slot, and its error reaches its caller unchanged', async () => {
    const limiter = new PasswordCheckLimiter({ maxConcurrent: 1, maxQueued: 10 });
    const rejecting = hold(limiter, 'rejecting');
    const throwing = limiter.run(async () => {
      started.push('throwing');
      throw new TypeError('thrown inside the check');
    });
    const next = hold(limiter, 'next');
    await settle();
    assert.deepEqual(started, ['rejecting']);
    const refusal = new Error('rejected inside the check');
    rejecting.fail(refusal);
    await assert.rejects(rejecting.done, (err: unknown) => err === refusal);
    await assert.rejects(throwing, (err: unknown) => err instanceof TypeError && err.message === 'thrown inside the check');
    await settle();
    assert.deepEqual(started, ['rejecting', 'throwing', 'next'], 'each failure handed the slot on');
    next.finish();
    assert.equal(await next.done, 'next');
    assert.equal(limiter.active, 0);
    assert.equal(limiter.queued, 0);
  });
});

describe('identity: how many password checks a process runs at once', () => {
  it('as configured, whatever the cores and processes', () => {
    assert.equal(checksAtOnce(3, 2, 2), 3);
    assert.equal(checksAtOnce(1, 16, 1), 1);
  });

  it('automatic (0): the cores shared among the serving processes, rounded up, at least one each', () => {
    assert.equal(AUTOMATIC_CHECKS_AT_ONCE, 0);
    const automatic = (cores: number, processes: number): number => checksAtOnce(AUTOMATIC_CHECKS_AT_ONCE, cores, processes);
    assert.equal(automatic(2, 2), 1, 'a worker per core: one check each, both cores hashing');
    assert.equal(automatic(2, 1), 2, 'one process on two cores: two checks');
    assert.equal(automatic(4, 3), 2, 'never a core left idle');
    assert.equal(automatic(1, 4), 1, 'more processes than cores: still one each');
  });

  it('a limiter left automatic runs this host\'s share: one more check than that waits', async () => {
    const limiter = new PasswordCheckLimiter({ maxConcurrent: AUTOMATIC_CHECKS_AT_ONCE, maxQueued: 10 }, 2);
    const share = Math.max(1, Math.ceil(availableParallelism() / 2));
    assert.equal(limiter.maxConcurrent, share);
    const releases: Array<() => void> = [];
    const checks = Array.from({ length: share + 1 }, () => limiter.run(() => new Promise<void>((resolve) => releases.push(resolve))));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(limiter.active, share);
    assert.equal(limiter.queued, 1);
    while (releases.length > 0 || limiter.active > 0) {
      releases.shift()?.();
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(checks);
    assert.equal(limiter.queued, 0);
  });
});
