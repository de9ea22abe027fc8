import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatHelp } from '../../src/cli/args';
import type { Command } from '../../src/cli/command';
import { openInstance } from '../../src/instance/open-instance';
import type { AuditEvent, PinState, Store } from '../../src/store/store';
import { STACK_TRACE } from './ext-trust';
import { runStsInProcess, type InProcessRun } from './in-process-cli';

/** Every state a pin or a provider's certificate can be in. */
export const PIN_STATES: readonly PinState[] = ['pending', 'active', 'retired', 'revoked'];

/**
 * The lifecycle both command families must follow, move by move: written out here rather than read
 * from the code's table (PIN_MOVES), so that a wrong table fails the tests.
 */
export const EXPECTED_PIN_MOVES: Readonly<Record<'promote' | 'retire' | 'revoke', { from: readonly PinState[]; to: PinState }>> = {
  promote: { from: ['pending'], to: 'active' },
  retire: { from: ['pending', 'active'], to: 'retired' },
  revoke: { from: ['pending', 'active', 'retired'], to: 'revoked' },
};

/**
 * A command family's moves with the command and audit event name of each, and the states the
 * lifecycle lets it start from and lead to.
 */
export function lifecycleMoves(
  commands: Readonly<Record<keyof typeof EXPECTED_PIN_MOVES, readonly [Command, string]>>,
): ReadonlyArray<[string, Command, string, readonly PinState[], PinState]> {
  return (Object.keys(EXPECTED_PIN_MOVES) as Array<keyof typeof EXPECTED_PIN_MOVES>).map((move) => {
    const [command, eventName] = commands[move];
    return [move, command, eventName, EXPECTED_PIN_MOVES[move].from, EXPECTED_PIN_MOVES[move].to];
  });
}

/** What a refused command must leave as it was: the rows it works on, and the audit trail (store and file). */
export interface LifecycleSnapshot<Rows> {
  readonly rows: Rows;
  readonly events: AuditEvent[];
  readonly auditFile: string;
}

/**
 * For the tests of a CLI command family that moves stored certificates through their lifecycle
 * (`sts trust …`, `sts aws provider cert …`), run in-process on the instance at `home()`: `sts`
 * runs `sts <prefix> ARGS --home HOME`; `snapshot` reads `rows` and the audit trail; `expectRefused`
 * checks a refusal's exit code and exact stderr, nothing on stdout, no stack trace, and nothing
 * changed or audited; `usage` is the text a usage error prints.
 */
export function lifecycleCommands<Rows>(prefix: readonly string[], home: () => string, rows: (store: Store) => Promise<Rows>) {
  const sts = (...args: string[]): Promise<InProcessRun> => runStsInProcess([...prefix, ...args, '--home', home()]);
  const snapshot = async (): Promise<LifecycleSnapshot<Rows>> => {
    const instance = await openInstance(home());
    try {
      const auditFile = join(home(), 'audit.jsonl');
      return {
        rows: await rows(instance.store),
        events: await instance.store.audit.query({ limit: 100_000 }),
        auditFile: existsSync(auditFile) ? readFileSync(auditFile, 'utf8') : '',
      };
    } finally {
      await instance.close();
    }
  };
  const expectRefused = async (args: string[], code: number, stderr: string): Promise<void> => {
    const before = await snapshot();
    const r = await sts(...args);
    assert.equal(r.code, code, `sts ${prefix.join(' ')} ${args.join(' ')}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    assert.equal(r.stderr, stderr);
    assert.equal(r.stdout, '');
    assert.doesNotMatch(r.stderr, STACK_TRACE);
    assert.deepEqual(await snapshot(), before);
  };
  const usage = (command: Command, message: string): string =>
    `sts ${command.name}: ${message}\n\n${formatHelp(command.usage, command.summary, command.flags)}`;
  return { sts, snapshot, expectRefused, usage };
}
