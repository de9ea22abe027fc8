import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestSts, type TestSts } from './test-sts';

// Servers whose home directory outlives them: stop() closes the listener and the instance and leaves
// the home, so a second server can be started on the same directory (durability across restarts).

export type LifecycleSts = TestSts;

export function newLifecycleHome(): string {
  return mkdtempSync(join(tmpdir(), 'trustbridge-lifecycle-'));
}

export function removeLifecycleHome(home: string): void {
  rmSync(home, { recursive: true, force: true });
}

/** Starts a server on `home`, initialising it first if it holds no instance yet. */
export function startLifecycleSts(home: string): Promise<LifecycleSts> {
  return startTestSts({ home });
}
