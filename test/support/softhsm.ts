import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SigningKeyCustodyConfig } from '../../src/config/config';

// SoftHSM2 (Debian's softhsm2) as the PKCS#11 token of the tests: one private token directory per
// test process, named by SOFTHSM2_CONF before any PKCS#11 module is initialised in it (SoftHSM reads
// it at C_Initialize), and inherited by the sts processes the tests spawn.

export const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';

export interface TestToken {
  readonly label: string;
  /** The user PIN; also in process.env[pinEnv], which child processes inherit. */
  readonly pin: string;
  readonly pinEnv: string;
  /** signingKeyCustody for an instance whose keys live in this token. */
  readonly custody: Extract<SigningKeyCustodyConfig, { kind: 'pkcs11' }>;
}

let directory: string | undefined;
let tokens = 0;

function tokenDirectory(): string {
  if (directory) return directory;
  if (!existsSync(SOFTHSM_MODULE)) throw new Error(`SoftHSM2 is not installed (${SOFTHSM_MODULE}): run scripts/ensure-system-tools.sh`);
  const dir = mkdtempSync(join(tmpdir(), 'trustbridge-softhsm-'));
  mkdirSync(join(dir, 'tokens'));
  writeFileSync(join(dir, 'softhsm2.conf'), `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  process.env['SOFTHSM2_CONF'] = join(dir, 'softhsm2.conf');
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  directory = dir;
  return dir;
}

/** Initialises a fresh SoftHSM2 token with a random user PIN, exported in its own environment variable. */
export function newTestToken(): TestToken {
  tokenDirectory();
  const n = ++tokens;
  const label = `trustbridge-test-${process.pid}-${n}`;
  // Distinctive enough that the leak scan cannot meet it by chance.
  const pin = `pin-${randomBytes(9).toString('base64url')}`;
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--pin', pin, '--so-pin', `so-${randomBytes(9).toString('base64url')}`], {
    env: process.env,
    stdio: 'pipe',
  });
  const pinEnv = `TRUSTBRIDGE_TEST_PIN_${n}`;
  process.env[pinEnv] = pin;
  return { label, pin, pinEnv, custody: { kind: 'pkcs11', module: SOFTHSM_MODULE, tokenLabel: label, pinEnv } };
}
