// The temporary directory a describe's tests keep an instance home in.
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TemporaryHome {
  /** The directory, private to this user (0700), for the home and any file the tests write beside it. */
  readonly dir: string;
  /** `instance` in it: the home, which the tests' own set-up creates (`sts init`), or not. */
  readonly home: string;
}

export interface TemporaryHomeOptions {
  /** Stops what still runs from the directory (a server, a child process) before it is removed. */
  readonly beforeRemoving?: () => unknown;
}

/**
 * Registers mocha hooks in the describe it is called in: a fresh directory under tmpdir() (its name
 * starts with `prefix`) made before its tests, and removed with everything in it after them. Call it
 * before the describe's own `before` hooks, which run after this one and may set up the home.
 *
 * The paths are named at once, not by mkdtempSync in the hook, so that tests and helpers can use them
 * as plain strings; the hook still refuses a directory that exists.
 */
export function temporaryHome(prefix: string, options: TemporaryHomeOptions = {}): TemporaryHome {
  const dir = join(tmpdir(), `${prefix}${randomBytes(6).toString('hex')}`);
  before(() => {
    mkdirSync(dir, { mode: 0o700 });
  });
  after(async () => {
    try {
      await options.beforeRemoving?.();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  return { dir, home: join(dir, 'instance') };
}
