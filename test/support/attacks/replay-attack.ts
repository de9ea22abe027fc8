import { strict as assert } from 'node:assert';
import type { ServingInstance } from '../../../src/instance/open-instance';
import { STACK_TRACE } from '../ext-trust';
import { assertStoreChange, takeStoreSnapshot } from '../store-snapshot';
import type { PostResult } from '../sts-post';
import type { LogRecord } from '../test-sts';

/** What the attack suites need of a running server. */
export interface AttackedServer {
  readonly home: string;
  readonly instance: ServingInstance;
  readonly logs: readonly LogRecord[];
}

export interface AttackOptions {
  /** The longest the answer may take: an expanded entity or a walked giant tree would be slower. */
  readonly maxMs?: number;
  /**
   * 'unchanged' (the default): not one row of the store may differ afterwards. Otherwise the rows the
   * request may add, table by table (an attack neutralised into a legitimate request: the signed
   * content is what gets read, and the test checks the token or credentials it got); every other
   * table must be as it was.
   */
  readonly store?: 'unchanged' | { readonly rowsAdded: Readonly<Record<string, number>> };
}

export type ReplayAttack = (send: () => Promise<PostResult>, options?: AttackOptions) => Promise<PostResult>;

const DEFAULT_MAX_MS = 2000;

/**
 * Binds the checks every attack must pass, whatever its rejection: an answer within the time limit
 * with no stack trace, a log line for the request that is not an internal error, the store exactly
 * as it was (compared through a read-only connection of its own), and afterwards the server still
 * serving a valid request (`stillServes`). The test asserts the precise rejection on what it returns.
 */
export function attackReplayer(server: AttackedServer, stillServes: () => Promise<void>): ReplayAttack {
  return async (send, options = {}) => {
    const before = takeStoreSnapshot(server);
    const logsBefore = server.logs.length;
    const res = await send();
    const maxMs = options.maxMs ?? DEFAULT_MAX_MS;
    assert.ok(res.elapsedMs < maxMs, `answered in ${res.elapsedMs.toFixed(0)} ms (limit ${maxMs} ms)`);
    assert.doesNotMatch(res.body, STACK_TRACE, `the answer leaks internals: ${res.body.slice(0, 600)}`);
    const records = server.logs.slice(logsBefore);
    assert.deepEqual(
      records.filter((r) => r.msg === 'internal error').map((r) => `${String(r.fields['errorName'])}: ${String(r.fields['errorMessage'])}`),
      [],
      'the attack caused an internal error',
    );
    assert.ok(res.requestId !== '', 'the answer carries X-Request-Id');
    assert.ok(
      records.some((r) => r.fields['requestId'] === res.requestId),
      `a log line for request ${res.requestId}`,
    );
    const store = options.store ?? 'unchanged';
    assertStoreChange(before, takeStoreSnapshot(server), store === 'unchanged' ? {} : store.rowsAdded);
    await stillServes();
    return res;
  };
}
