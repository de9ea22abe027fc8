import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { AbandonedWhileWaitingError, TurnQueueFullError, Turns } from '../../../src/core/turns';

/** Work that runs until its release() is called, recording when it started and how many ran at once. */
class Probe {
  running = 0;
  mostAtOnce = 0;
  readonly started: number[] = [];
  private readonly releases = new Map<number, (fail?: Error) => void>();

  work(id: number): () => Promise<number> {
    return async () => {
      this.started.push(id);
      this.running++;
      this.mostAtOnce = Math.max(this.mostAtOnce, this.running);
      try {
        await new Promise<void>((resolve, reject) => this.releases.set(id, (fail) => (fail ? reject(fail) : resolve())));
      } finally {
        this.running--;
      }
      return id;
    };
  }

  release(id: number, fail?: Error): void {
    const release = this.releases.get(id);
    assert.ok(release, `work ${id} has started`);
    release(fail);
  }
}

describe('Turns', () => {
  it('with a limit of 0 runs everything at once', async () => {
    const turns = new Turns(0);
    const probe = new Probe();
    const runs = [1, 2, 3, 4, 5].map((id) => turns.run(probe.work(id)));
    await nextTurn();
    assert.deepEqual(probe.started, [1, 2, 3, 4, 5]);
    assert.equal(turns.queued, 0);
    for (const id of [1, 2, 3, 4, 5]) probe.release(id);
    assert.deepEqual(await Promise.all(runs), [1, 2, 3, 4, 5]);
  });

  it('runs at most `limit` at once; the others start in arrival order as turns free, and are counted as queued', async () => {
    const turns = new Turns(2);
    const probe = new Probe();
    const runs = [1, 2, 3, 4, 5].map((id) => turns.run(probe.work(id)));
    await nextTurn();
    assert.deepEqual(probe.started, [1, 2]);
    assert.equal(turns.queued, 3);
    assert.equal(turns.active, 2);
    assert.equal(turns.full, true);
    probe.release(2);
    await nextTurn();
    assert.deepEqual(probe.started, [1, 2, 3], 'the oldest waiter gets the freed turn');
    assert.equal(turns.queued, 2);
    probe.release(1);
    probe.release(3);
    await nextTurn();
    assert.deepEqual(probe.started, [1, 2, 3, 4, 5]);
    assert.equal(turns.queued, 0);
    probe.release(4);
    probe.release(5);
    assert.deepEqual(await Promise.all(runs), [1, 2, 3, 4, 5]);
    assert.equal(probe.mostAtOnce, 2);
    assert.equal(turns.active, 0);
    assert.equal(turns.full, false);
  });

  it('tells the work whether it waited for its turn', async () => {
    const turns = new Turns(1);
    let release: () => void = () => undefined;
    const first = turns.run(async (waited) => {
      await new Promise<void>((resolve) => (release = resolve));
      return waited;
    });
    const second = turns.run(async (waited) => waited);
    await nextTurn();
    release();
    assert.deepEqual(await Promise.all([first, second]), [false, true]);
  });

  // Not the race of work arriving between a turn's release and its waiter's wake-up (no caller can run
  // there: release() hands the turn over in the same step), but the step before it.
  it('work arriving while the running work is finishing queues behind the work already waiting', async () => {
    const turns = new Turns(1);
    const probe = new Probe();
    const first = turns.run(probe.work(1));
    const waiter = turns.run(probe.work(2));
    await nextTurn();
    probe.release(1);
    const latecomer = turns.run(probe.work(3));
    await nextTurn();
    assert.deepEqual(probe.started, [1, 2]);
    probe.release(2);
    await nextTurn();
    probe.release(3);
    assert.deepEqual(await Promise.all([first, waiter, latecomer]), [1, 2, 3]);
    assert.equal(probe.mostAtOnce, 1);
  });

  it('work that throws frees its turn and its caller gets the error', async () => {
    const turns = new Turns(1);
    const probe = new Probe();
    const failing = turns.run(probe.work(1));
    const next = turns.run(probe.work(2));
    await nextTurn();
    probe.release(1, new Error('store down'));
    await assert.rejects(failing, /store down/);
    await nextTurn();
    assert.deepEqual(probe.started, [1, 2]);
    probe.release(2);
    assert.equal(await next, 2);
    // The turn is free again: new work starts at once.
    const after = turns.run(probe.work(3));
    await nextTurn();
    assert.deepEqual(probe.started, [1, 2, 3]);
    probe.release(3);
    assert.equal(await after, 3);
  });

  it('work that throws before its first await frees its turn too', async () => {
    const turns = new Turns(1);
    await assert.rejects(
      turns.run(async () => {
        throw new Error('parse failed');
      }),
      /parse failed/,
    );
    assert.equal(await turns.run(async () => 'ran'), 'ran');
  });

  it('a long queue is served whole, in order, one at a time', async () => {
    const turns = new Turns(1);
    const order: number[] = [];
    let running = 0;
    const runs = Array.from({ length: 2000 }, (_, i) =>
      turns.run(async () => {
        assert.equal(++running, 1);
        order.push(i);
        await nextTurn();
        running--;
      }),
    );
    assert.equal(turns.queued, 1999);
    await Promise.all(runs);
    assert.deepEqual(order, Array.from({ length: 2000 }, (_, i) => i));
    assert.equal(turns.queued, 0);
  });

  it('with maxQueued, work that would wait beyond it is refused at once, unrun; a freed place in the queue takes work again', async () => {
    const turns = new Turns(1, 2);
    const probe = new Probe();
    const runs = [1, 2, 3].map((id) => turns.run(probe.work(id)));
    await nextTurn();
    const refused = turns.run(probe.work(4));
    await assert.rejects(refused, (err: unknown) => {
      assert.ok(err instanceof TurnQueueFullError);
      assert.equal(err.message, '1 running and 2 waiting, the most this process queues');
      return true;
    });
    assert.deepEqual(probe.started, [1]);
    assert.equal(turns.queued, 2, 'the refused work took no place');
    // What app.ts and the password-check limiter ask before run(): the same refusal, nothing run.
    const asked = turns.refusal();
    assert.ok(asked instanceof TurnQueueFullError);
    assert.equal(asked.message, '1 running and 2 waiting, the most this process queues');
    probe.release(1);
    await nextTurn();
    assert.equal(turns.refusal(), undefined, 'a place in the queue is free again');
    const fourth = turns.run(probe.work(5));
    for (const id of [2, 3]) {
      await nextTurn();
      probe.release(id);
    }
    await nextTurn();
    probe.release(5);
    assert.deepEqual(await Promise.all([...runs, fourth]), [1, 2, 3, 5]);
    assert.deepEqual(probe.started, [1, 2, 3, 5]);
  });

  it('with maxQueued 0, work runs only in a free turn; without a limit nothing is ever refused', async () => {
    const noQueue = new Turns(1, 0);
    const probe = new Probe();
    const first = noQueue.run(probe.work(1));
    await assert.rejects(noQueue.run(probe.work(2)), TurnQueueFullError);
    probe.release(1);
    assert.equal(await first, 1);
    assert.equal(await noQueue.run(async () => 'free turn'), 'free turn');

    const unlimited = new Turns(0, 0);
    const both = Promise.all([unlimited.run(async () => 1), unlimited.run(async () => 2)]);
    // app.ts asks refusal() itself before run(): with no limit it must never refuse either.
    assert.equal(unlimited.refusal(), undefined);
    assert.deepEqual(await both, [1, 2]);
  });

  it('work that waited and is no longer wanted when its turn comes is not run, and passes the turn on at once', async () => {
    const turns = new Turns(1);
    const probe = new Probe();
    let wanted = true;
    const asked: number[] = [];
    const first = turns.run(probe.work(1), () => {
      asked.push(1);
      return false;
    });
    const abandoned = turns.run(probe.work(2), () => {
      asked.push(2);
      return wanted;
    });
    const third = turns.run(probe.work(3), () => {
      asked.push(3);
      return true;
    });
    await nextTurn();
    wanted = false;
    probe.release(1);
    await assert.rejects(abandoned, AbandonedWhileWaitingError);
    await nextTurn();
    assert.deepEqual(probe.started, [1, 3], 'the abandoned work never started; the next waiter got the turn');
    assert.deepEqual(asked, [2, 3], 'asked only when a waited-for turn comes: work that did not wait is not asked');
    probe.release(3);
    assert.deepEqual(await Promise.all([first, third]), [1, 3]);
    assert.equal(turns.active, 0);
    assert.equal(turns.queued, 0);
  });

  it('refuses a limit that is not a whole number of requests, and a negative queue bound', () => {
    for (const bad of [-1, 1.5, Number.NaN]) assert.throws(() => new Turns(bad), RangeError);
    for (const bad of [-1, Number.NaN]) assert.throws(() => new Turns(1, bad), RangeError);
  });
});
