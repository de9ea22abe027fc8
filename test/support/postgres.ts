// A private PostgreSQL cluster for the tests: one per mocha process, started on first use (initdb
// into a temporary directory, pg_ctl on 127.0.0.1 and a free port), with a password-authenticated
// role that owns a fresh database per caller. It is stopped when the process exits, and a small
// watchdog stops it too if the process dies without running its exit hooks (SIGKILL).
import { execFile, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { freePort } from './unit-cli';

const run = promisify(execFile);

/** A database of its own on the test cluster, owned by the test role. */
export interface TestDatabase {
  readonly name: string;
  /** postgres://ROLE@127.0.0.1:PORT/NAME: no password in it, as the store's config wants. */
  readonly url: string;
  readonly password: string;
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** Runs SQL as the owning role, outside any store (what an intruder with the database password could do). */
  query<R extends Record<string, unknown> = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: R[]; rowCount: number }>;
  /** Drops the database, closing whatever is still connected to it. */
  drop(): Promise<void>;
}

interface Cluster {
  readonly dir: string;
  readonly dataDir: string;
  readonly port: number;
  readonly bin: string;
  readonly asPostgres: boolean;
  readonly role: string;
  readonly password: string;
  /** Runs one of the server's tools (pg_ctl, initdb) as the user that owns the data directory. */
  readonly tool: (name: string, args: string[]) => Promise<unknown>;
}

const ADMIN = 'postgres';
const ROLE = 'trustbridge_test';
let cluster: Promise<Cluster> | undefined;
let databases = 0;

/** The newest installed PostgreSQL server's bin directory; fails loudly (with the fix) when none is. */
export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const newest = versions[0];
  if (newest === undefined) {
    throw new Error(
      'PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/initdb): the PostgreSQL tests need them. ' +
        'Run scripts/ensure-system-tools.sh (it installs the Debian package postgresql).',
    );
  }
  return join(root, newest, 'bin');
}

/** Creates a fresh database on the test cluster (starting the cluster first if this is the first call). */
export async function createTestDatabase(): Promise<TestDatabase> {
  const c = await (cluster ??= startCluster());
  const name = `trustbridge_${process.pid}_${++databases}`;
  await asAdmin(c, (admin) => admin.query(`CREATE DATABASE ${name} OWNER ${c.role}`));
  const url = `postgres://${c.role}@127.0.0.1:${c.port}/${name}`;
  return {
    name,
    url,
    password: c.password,
    host: '127.0.0.1',
    port: c.port,
    user: c.role,
    query: async <R extends Record<string, unknown>>(sql: string, params: unknown[] = []) => {
      const client = new Client({ host: '127.0.0.1', port: c.port, database: name, user: c.role, password: c.password });
      await client.connect();
      try {
        const result = await client.query<R>(sql, params);
        return { rows: result.rows, rowCount: result.rowCount ?? 0 };
      } finally {
        await client.end();
      }
    },
    drop: () => asAdmin(c, (admin) => admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

async function asAdmin<T>(c: Cluster, work: (admin: Client) => Promise<T>): Promise<T> {
  // The superuser connects over the cluster's own Unix socket (trust), never over TCP.
  const admin = new Client({ host: c.dir, port: c.port, database: 'postgres', user: ADMIN });
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.end();
  }
}

async function startCluster(): Promise<Cluster> {
  const bin = postgresBinDir();
  // initdb and postgres refuse to run as root: as root, run them as the postgres user the Debian package creates.
  const asPostgres = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'trustbridge-pg-'));
  const dataDir = join(dir, 'data');
  if (asPostgres) {
    const ids = spawnSync('id', ['-u', ADMIN], { encoding: 'utf8' });
    const gids = spawnSync('id', ['-g', ADMIN], { encoding: 'utf8' });
    if (ids.status !== 0) throw new Error('running as root, but there is no "postgres" user to run PostgreSQL as (install the Debian package postgresql)');
    chownSync(dir, Number(ids.stdout.trim()), Number(gids.stdout.trim()));
  }
  const pg = (tool: string, args: string[]): Promise<unknown> => {
    const [file, argv] = asPostgres ? ['runuser', ['-u', ADMIN, '--', join(bin, tool), ...args]] : [join(bin, tool), args];
    return run(file, argv, { timeout: 60_000 });
  };
  stopOnExit(dir, dataDir, bin, asPostgres);
  const password = randomBytes(18).toString('base64url');
  try {
    await pg('initdb', ['-D', dataDir, '-U', ADMIN, '--auth-local=trust', '--auth-host=scram-sha-256', '--encoding=UTF8', '--locale=C', '--no-sync']);
    // Throwaway data: durability settings off, for speed.
    appendFileSync(
      join(dataDir, 'postgresql.conf'),
      ['fsync = off', 'synchronous_commit = off', 'full_page_writes = off', 'max_connections = 200', `unix_socket_directories = '${dir}'`].join('\n') + '\n',
    );
    let port = 0;
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      try {
        await pg('pg_ctl', startArguments(dir, dataDir, port));
        break;
      } catch (err) {
        // Another process may have taken the port between freePort() and the bind.
        if (attempt >= 3) throw new Error(`pg_ctl start failed: ${(err as Error).message}\n${readLog(dir)}`);
      }
    }
    const c: Cluster = { dir, dataDir, port, bin, asPostgres, role: ROLE, password, tool: pg };
    await asAdmin(c, async (admin) => {
      await admin.query(`CREATE ROLE ${ROLE} LOGIN PASSWORD '${password}'`);
    });
    return c;
  } catch (err) {
    stopCluster(dir, dataDir, bin, asPostgres);
    throw err;
  }
}

function startArguments(dir: string, dataDir: string, port: number): string[] {
  return ['start', '-w', '-t', '60', '-D', dataDir, '-l', join(dir, 'server.log'), '-o', `-c listen_addresses=127.0.0.1 -p ${port}`];
}

/**
 * Stops the test cluster's server as an outage would (its data kept): "fast" ends every session
 * (the clients see their connections terminated), "immediate" is a crash, recovered at the next start.
 */
export async function stopTestCluster(mode: 'fast' | 'immediate'): Promise<void> {
  if (cluster === undefined) throw new Error('no test cluster is running');
  const c = await cluster;
  await c.tool('pg_ctl', ['stop', '-D', c.dataDir, '-m', mode, '-w', '-t', '60']);
}

/** Starts the test cluster's server again after stopTestCluster, on the same port and data. */
export async function startTestCluster(): Promise<void> {
  if (cluster === undefined) throw new Error('no test cluster was started');
  const c = await cluster;
  await c.tool('pg_ctl', startArguments(c.dir, c.dataDir, c.port));
}

function readLog(dir: string): string {
  try {
    return readFileSync(join(dir, 'server.log'), 'utf8').slice(-2000);
  } catch {
    return '';
  }
}

function stopCluster(dir: string, dataDir: string, bin: string, asPostgres: boolean): void {
  if (existsSync(join(dataDir, 'postmaster.pid'))) {
    const argv = ['stop', '-D', dataDir, '-m', 'immediate', '-w', '-t', '30'];
    if (asPostgres) spawnSync('runuser', ['-u', ADMIN, '--', join(bin, 'pg_ctl'), ...argv], { stdio: 'ignore' });
    else spawnSync(join(bin, 'pg_ctl'), argv, { stdio: 'ignore' });
  }
  rmSync(dir, { recursive: true, force: true });
}

function stopOnExit(dir: string, dataDir: string, bin: string, asPostgres: boolean): void {
  process.once('exit', () => stopCluster(dir, dataDir, bin, asPostgres));
  // The watchdog: a detached shell that outlives us only long enough to stop the cluster if we die
  // without the exit hook running.
  const pgCtl = asPostgres ? `runuser -u ${ADMIN} -- '${join(bin, 'pg_ctl')}'` : `'${join(bin, 'pg_ctl')}'`;
  const script =
    `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; ` +
    `if [ -f '${join(dataDir, 'postmaster.pid')}' ]; then ${pgCtl} stop -D '${dataDir}' -m immediate -w -t 30 >/dev/null 2>&1; fi; ` +
    `rm -rf '${dir}'`;
  spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' }).unref();
}
