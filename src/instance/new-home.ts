import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Makes the instance directory `home` (private, with any missing parents) if it does not exist, and
 * returns what takes back everything created since: the directories made here, or, in a directory
 * that was there already, only the entries it did not hold then. What was there before is kept.
 */
export function makeHome(home: string): () => void {
  const made = mkdirSync(home, { recursive: true, mode: 0o700 });
  if (made !== undefined) return () => rmSync(made, { recursive: true, force: true });
  const before = new Set(readdirSync(home));
  return () => {
    for (const name of readdirSync(home)) {
      if (!before.has(name)) rmSync(join(home, name), { recursive: true, force: true });
    }
  };
}
