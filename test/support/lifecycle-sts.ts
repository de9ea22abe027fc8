import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addRelyingParty, type NewRelyingParty } from '../../src/core/relying-party-admin';
import { CHEAPEST_SCRYPT } from '../../src/identity/password-hash';
import { addUser, type NewUser } from '../../src/identity/user-admin';
import { initInstance } from '../../src/instance/init-instance';
import { openServingInstance, type ServingInstance } from '../../src/instance/open-instance';
import { SIGNING_CERTIFICATE_EXPORT } from '../../src/instance/paths';
import { listen, type RunningServer } from '../../src/server/listen';
import type { Logger } from '../../src/server/log';
import type { LogRecord } from './test-sts';

// Like test-sts.ts, but the home directory outlives the server: stop() closes the listener and the
// instance and leaves the home in place, so a second server can be started on the same directory
// (durability across restarts). The caller removes the home with removeLifecycleHome().

export interface LifecycleSts {
  readonly home: string;
  readonly baseUrl: string;
  readonly instance: ServingInstance;
  readonly signingCertificatePem: string;
  readonly tlsCertificatePem: string;
  readonly logs: LogRecord[];
  addUser(user: Omit<NewUser, 'allowPasswordDigest' | 'scrypt'>): Promise<void>;
  addRelyingParty(rp: NewRelyingParty): Promise<void>;
  /** Closes the listener and the instance; the home directory stays. */
  stop(): Promise<void>;
}

export function newLifecycleHome(): string {
  return mkdtempSync(join(tmpdir(), 'trustbridge-lifecycle-'));
}

export function removeLifecycleHome(home: string): void {
  rmSync(home, { recursive: true, force: true });
}

/** Starts a server on `home`, initialising it first if it holds no instance yet. */
export async function startLifecycleSts(home: string): Promise<LifecycleSts> {
  await initInstance(home, { demo: false, port: 0 });
  const instance = await openServingInstance(home);
  const logs: LogRecord[] = [];
  const logger: Logger = { log: (level, msg, fields) => logs.push({ level, msg, fields: fields ?? {} }) };
  let server: RunningServer;
  try {
    server = await listen(instance, logger, { port: 0, host: '127.0.0.1' });
  } catch (err) {
    await instance.close();
    throw err;
  }
  let stopped = false;
  return {
    home,
    baseUrl: server.baseUrl,
    instance,
    signingCertificatePem: readFileSync(join(home, SIGNING_CERTIFICATE_EXPORT), 'utf8'),
    tlsCertificatePem: instance.tls.cert,
    logs,
    addUser: (user) => addUser(instance.store, instance.masterKey, { allowPasswordDigest: false, ...user, scrypt: CHEAPEST_SCRYPT }),
    addRelyingParty: (rp) => addRelyingParty(instance.store, rp),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await server.close();
      await instance.close();
    },
  };
}
