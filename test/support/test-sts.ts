import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SigningKeyCustodyConfig } from '../../src/config/config';
import { addRelyingParty, type NewRelyingParty } from '../../src/core/relying-party-admin';
import { CHEAPEST_SCRYPT } from '../../src/identity/password-hash';
import { addUser, type NewUser } from '../../src/identity/user-admin';
import { initInstance } from '../../src/instance/init-instance';
import { openServingInstance, type ServingInstance } from '../../src/instance/open-instance';
import { SIGNING_CERTIFICATE_EXPORT } from '../../src/instance/paths';
import { listen, type RunningServer } from '../../src/server/listen';
import type { Logger, LogLevel } from '../../src/server/log';

export interface LogRecord {
  readonly level: LogLevel;
  readonly msg: string;
  readonly fields: Record<string, unknown>;
}

/** A real Trustbridge instance on a temporary home, served over HTTPS on a random loopback port. */
export interface TestSts {
  readonly home: string;
  readonly baseUrl: string;
  readonly port: number;
  readonly instance: ServingInstance;
  /** PEM of the token-signing certificate: what a relying party (and xmlsec1) trusts. */
  readonly signingCertificatePem: string;
  /** PEM of the TLS certificate, to trust as a CA in HTTPS clients. */
  readonly tlsCertificatePem: string;
  /** Every log line the server wrote, as records. */
  readonly logs: LogRecord[];
  addUser(user: Omit<NewUser, 'allowPasswordDigest' | 'scrypt'> & { allowPasswordDigest?: boolean }): Promise<void>;
  addRelyingParty(rp: NewRelyingParty): Promise<void>;
  stop(): Promise<void>;
}

export interface TestStsOptions {
  /** Settings written over the generated config.json before the server starts. */
  readonly config?: Record<string, unknown>;
  /**
   * An instance directory to serve (initialised if empty) that outlives the server: stop() leaves it,
   * so another server can start on it (durability across restarts). Default: a fresh temporary one,
   * removed by stop().
   */
  readonly home?: string;
  /** Where the instance keeps its token-signing keys (default: sealed under the master key). */
  readonly signingKeyCustody?: SigningKeyCustodyConfig;
  /** The server's protocol clock, for tests that move time (default: the system clock). */
  readonly now?: () => Date;
  /** The server's scrypt check of embedded users' passwords, for tests that count the checks (default: the real one). */
  readonly verifyPassword?: (password: string, storedHash: string) => Promise<boolean>;
}

export async function startTestSts(options: TestStsOptions = {}): Promise<TestSts> {
  const home = options.home ?? mkdtempSync(join(tmpdir(), 'trustbridge-test-'));
  await initInstance(home, { demo: false, port: 0, ...(options.signingKeyCustody ? { signingKeyCustody: options.signingKeyCustody } : {}) });
  if (options.config) {
    const path = join(home, 'config.json');
    writeFileSync(path, JSON.stringify({ ...JSON.parse(readFileSync(path, 'utf8')), ...options.config }, null, 2));
  }
  const logs: LogRecord[] = [];
  const logger: Logger = { log: (level, msg, fields) => logs.push({ level, msg, fields: fields ?? {} }) };
  const instance = await openServingInstance(home, {}, { logger });
  let server: RunningServer;
  try {
    server = await listen(instance, logger, {
      port: 0,
      host: '127.0.0.1',
      ...(options.now ? { now: options.now } : {}),
      ...(options.verifyPassword ? { verifyPassword: options.verifyPassword } : {}),
    });
  } catch (err) {
    await instance.close();
    throw err;
  }
  let stopped = false;
  return {
    home,
    baseUrl: server.baseUrl,
    port: server.port,
    instance,
    signingCertificatePem: readFileSync(join(home, SIGNING_CERTIFICATE_EXPORT), 'utf8'),
    tlsCertificatePem: instance.tls.cert,
    logs,
    // Test users get the cheapest hash parameters so suites stay fast; strength is tested elsewhere.
    addUser: (user) =>
      addUser(instance.store, instance.masterKey, {
        allowPasswordDigest: false,
        ...user,
        scrypt: CHEAPEST_SCRYPT,
      }),
    addRelyingParty: (rp) => addRelyingParty(instance.store, rp),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await server.close();
      await instance.close();
      if (options.home === undefined) rmSync(home, { recursive: true, force: true });
    },
  };
}

/** The message with which a serving instance in `home` refuses to start (failing if it starts). */
export async function startupRefusal(home: string): Promise<string> {
  try {
    await (await openServingInstance(home)).close();
  } catch (err) {
    if (err instanceof Error) return err.message;
    throw err;
  }
  throw new Error('expected start-up to be refused');
}
