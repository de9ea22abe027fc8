import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

// OpenLDAP's slapd (Debian's package) run by the tests: a temporary directory, an mdb database
// loaded with slapadd from test/fixtures/ldap, the memberOf overlay, ldap:// (with StartTLS) and
// ldaps:// on loopback ports, and a TLS certificate made with openssl and signed by a test CA.

const run = promisify(execFile);
const FIXTURES = resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'ldap');
const SLAPD = '/usr/sbin/slapd';

export const BASE_DN = 'dc=example,dc=org';
export const PEOPLE_DN = `ou=people,${BASE_DN}`;
export const GROUPS_DN = `ou=groups,${BASE_DN}`;
export const SERVICE_ACCOUNT = { dn: `cn=trustbridge,ou=services,${BASE_DN}`, password: 'Service-ldap-pw-6' };
/** The directory's users and passwords (test/fixtures/ldap/directory.ldif). */
export const LDAP_USERS = {
  alice: { uid: 'alice', password: 'Alice-ldap-pw-1', dn: `uid=alice,${PEOPLE_DN}`, mail: 'alice@example.org' },
  bob: { uid: 'bob', password: 'Bob-ldap-pw-2', dn: `uid=bob,${PEOPLE_DN}`, mail: 'bob@example.org' },
  carol: { uid: 'carol', password: 'Carol-ldap-pw-3', dn: `uid=carol,${PEOPLE_DN}`, mail: 'team@example.org' },
  dave: { uid: 'dave', password: 'Dave-ldap-pw-4', dn: `uid=dave,${PEOPLE_DN}`, mail: 'team@example.org' },
  smith: { uid: 'smith, jr', password: 'Smith-ldap-pw-5', dn: `uid=smith\\2C jr,${PEOPLE_DN}`, mail: 'smith@example.org' },
} as const;
const ROOT = { dn: `cn=admin,${BASE_DN}`, password: 'Root-ldap-pw-0' };

export interface Slapd {
  /** ldap://127.0.0.1:PORT (StartTLS offered). */
  readonly ldapUrl: string;
  /** ldaps://localhost:PORT: the certificate names localhost and 127.0.0.1. */
  readonly ldapsUrl: string;
  readonly dir: string;
  /** The CA that signed slapd's certificate, as a file and as PEM. */
  readonly caFile: string;
  readonly caPem: string;
  /** A CA that signed nothing slapd has: trusting only it must fail. */
  readonly otherCaFile: string;
  /** Stops slapd (SIGTERM, waiting for it to exit); the database stays for start(). */
  stop(): Promise<void>;
  /** Starts slapd again on the same ports and database. */
  start(): Promise<void>;
  /** Stops slapd and removes its directory. */
  destroy(): Promise<void>;
}

export async function startSlapd(): Promise<Slapd> {
  const dir = mkdtempSync(join(tmpdir(), 'trustbridge-slapd-'));
  try {
    await makeCertificates(dir);
    const [ldapPort, ldapsPort] = [await freePort(), await freePort()];
    const conf = join(dir, 'slapd.conf');
    writeFileSync(conf, slapdConf(dir));
    mkdirSync(join(dir, 'db'));
    await run('/usr/sbin/slapadd', ['-f', conf, '-l', join(FIXTURES, 'directory.ldif')]);
    const ldapUrl = `ldap://127.0.0.1:${ldapPort}`;
    const urls = `${ldapUrl}/ ldaps://127.0.0.1:${ldapsPort}/`;
    let child: ChildProcess | undefined;
    const start = async (): Promise<void> => {
      child = await launch(conf, urls, [ldapPort, ldapsPort]);
    };
    const stop = async (): Promise<void> => {
      const running = child;
      child = undefined;
      if (running) await terminate(running);
    };
    await start();
    await run('/usr/bin/ldapadd', ['-x', '-H', ldapUrl, '-D', ROOT.dn, '-w', ROOT.password, '-f', join(FIXTURES, 'groups.ldif')]);
    return {
      ldapUrl,
      ldapsUrl: `ldaps://localhost:${ldapsPort}`,
      dir,
      caFile: join(dir, 'ca.pem'),
      caPem: readFileSync(join(dir, 'ca.pem'), 'utf8'),
      otherCaFile: join(dir, 'other-ca.pem'),
      stop,
      start,
      destroy: async () => {
        await stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

function slapdConf(dir: string): string {
  return [
    'include /etc/ldap/schema/core.schema',
    'include /etc/ldap/schema/cosine.schema',
    'include /etc/ldap/schema/inetorgperson.schema',
    'modulepath /usr/lib/ldap',
    'moduleload back_mdb',
    'moduleload memberof',
    `pidfile ${join(dir, 'slapd.pid')}`,
    `argsfile ${join(dir, 'slapd.args')}`,
    // As permissive as some directories are: a DN with an empty password binds anonymously and
    // "succeeds", which is why Trustbridge refuses empty passwords itself.
    'allow bind_anon_dn',
    `TLSCACertificateFile ${join(dir, 'ca.pem')}`,
    `TLSCertificateFile ${join(dir, 'server.pem')}`,
    `TLSCertificateKeyFile ${join(dir, 'server.key')}`,
    'database mdb',
    `suffix "${BASE_DN}"`,
    `rootdn "${ROOT.dn}"`,
    `rootpw ${ROOT.password}`,
    `directory ${join(dir, 'db')}`,
    'maxsize 10485760',
    'access to attrs=userPassword by anonymous auth by * none',
    'access to * by users read by * none',
    'overlay memberof',
    '',
  ].join('\n');
}

async function makeCertificates(dir: string): Promise<void> {
  const at = (f: string): string => join(dir, f);
  for (const ca of ['ca', 'other-ca']) {
    await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', at(`${ca}.key`), '-out', at(`${ca}.pem`),
      '-days', '2', '-subj', `/CN=Trustbridge test LDAP ${ca}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  }
  await run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', at('server.key'), '-out', at('server.csr'), '-subj', '/CN=localhost']);
  writeFileSync(at('server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  await run('openssl', ['x509', '-req', '-in', at('server.csr'), '-CA', at('ca.pem'), '-CAkey', at('ca.key'), '-CAcreateserial',
    '-out', at('server.pem'), '-days', '2', '-extfile', at('server.ext')]);
}

async function launch(conf: string, urls: string, ports: readonly number[]): Promise<ChildProcess> {
  // -d 0: stay in the foreground (no fork), so the child is slapd itself and stop() can end it.
  const child = spawn(SLAPD, ['-f', conf, '-h', urls, '-d', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const deadline = Date.now() + 10_000;
  for (const port of ports) {
    while (!(await accepts(port))) {
      if (child.exitCode !== null || Date.now() > deadline) {
        await terminate(child);
        throw new Error(`slapd did not start: ${stderr.slice(-2000)}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return child;
}

async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(killer);
}

function accepts(port: number): Promise<boolean> {
  return new Promise((r) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      r(true);
    });
    socket.once('error', () => r(false));
  });
}

/** A loopback port nothing listens on (free a moment ago). */
export function freePort(): Promise<number> {
  return new Promise((r, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => r(port));
    });
  });
}

/** A server that accepts TCP connections and never says anything: the directory that hangs. */
export interface SilentServer {
  readonly port: number;
  /** How many connections it has accepted so far. */
  readonly accepted: () => number;
  /** How many of them the other side has not closed yet. */
  readonly open: () => number;
  close(): Promise<void>;
}

export function startSilentServer(): Promise<SilentServer> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server: Server = createServer((socket) => {
    accepted += 1;
    sockets.add(socket);
    // Reads and drops what arrives (so it sees the client hang up), and never writes.
    socket.resume();
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  return new Promise((r, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      r({
        port: (server.address() as { port: number }).port,
        accepted: () => accepted,
        open: () => sockets.size,
        close: () =>
          new Promise((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
