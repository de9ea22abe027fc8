import { performance } from 'node:perf_hooks';
import type { StsConfig } from '../config/config';
import { openInstance, type Instance } from '../instance/open-instance';
import { inHome, resolveHome } from '../instance/paths';
import type { ParsedArgs } from './args';

/**
 * How long a command, once done, keeps trying to store its audit events before it reports them not
 * stored: two of the store's busy timeouts (store.busyTimeoutMs, 5 s by default). On the audit
 * trail's retry schedule (2 s after a failed write) that makes two waits for SQLite's write lock,
 * some 12 s in all by default. Another process holds that lock for a transaction (well under a
 * second); one that holds it for two timeouts is stuck (a sqlite3 shell left in a transaction, a hung
 * process), and the operator had better hear it now than wait on.
 */
const auditStoreWithinMs = (store: StsConfig['store']): number => 2 * store.busyTimeoutMs;

/**
 * Opens the instance named by --home (or STS_HOME), runs `fn` on it and always closes it. A command
 * whose audit events the store would not take fails (what it did stays done), saying where they are:
 * an admin change that `sts audit` and the defenders cannot see is a gap an attacker would want.
 */
export async function withInstance<T>(args: ParsedArgs, fn: (instance: Instance) => Promise<T>): Promise<T> {
  const instance = await openInstance(resolveHome(args.strings.get('home')));
  try {
    let result: T;
    try {
      result = await fn(instance);
    } catch (err) {
      const unstored = await storeAuditEvents(instance);
      if (unstored === undefined) throw err;
      throw new Error(`${err instanceof Error ? err.message : String(err)}\nthe ${unstored}`, { cause: err });
    }
    const unstored = await storeAuditEvents(instance);
    if (unstored !== undefined) throw new Error(`the change was made, but its ${unstored}`);
    return result;
  } finally {
    await instance.close();
  }
}

/** Closes the audit trail; undefined once its events are stored, else a line saying which are not, where they are and why. */
async function storeAuditEvents(instance: Instance): Promise<string | undefined> {
  const started = performance.now();
  const unstored = await instance.audit.close(auditStoreWithinMs(instance.config.store));
  if (unstored === undefined) return undefined;
  const { events, storeError } = unstored;
  const one = events.length === 1;
  const named = `audit event${one ? '' : 's'} ${events.map((e) => `${e.eventId} (${e.eventName})`).join(', ')}`;
  const file = instance.config.audit.file;
  const where = file === '' ? 'in no audit file (audit.file is empty)' : `only in ${inHome(instance.home, file)}`;
  const why = storeError instanceof Error ? storeError.message : String(storeError);
  const seconds = Math.round((performance.now() - started) / 1000);
  return (
    `${named} ${one ? 'is' : 'are'} ${where}, not in the store's audit trail that sts audit and the defenders read ` +
    `(the store refused ${one ? 'it' : 'them'} for ${seconds} s: ${why})`
  );
}
