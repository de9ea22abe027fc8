// Several `sts serve` processes sharing one PostgreSQL database, as a scaled-out deployment runs
// them: one instance initialised with `sts init --store postgres`, its config.json, master.key and
// tls/ copied to the other nodes' directories, each node its own process, port and audit file.
import { X509Certificate } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addAwsRole } from '../../src/aws/aws-admin';
import { awsRoleClaim } from '../../src/aws/role-claim';
import { addRelyingParty } from '../../src/core/relying-party-admin';
import { CHEAPEST_SCRYPT } from '../../src/identity/password-hash';
import { addUser } from '../../src/identity/user-admin';
import { openInstance } from '../../src/instance/open-instance';
import type { LedgerTrust } from '../../src/store/ledger-chain';
import { parsePostgresUrl } from '../../src/store/postgres/connection-settings';
import { openPostgresStore } from '../../src/store/postgres/postgres-store';
import type { Store } from '../../src/store/store';
import { ACCOUNT, OTHER_ROLE, ROLE, ROLE_TRUST_POLICY } from './aws-sts';
import { instanceLedgerTrust } from './ledger-chain-key';
import type { LogRecord } from './test-sts';
import { createTestDatabase, type TestDatabase } from './postgres';
import { freePort, runStsAsync, StsProcess, type CliResult } from './unit-cli';

export const NODE_USER = 'alice@nodes.example';
export const NODE_PASSWORD = 'Nodes-Alice-Secret-9!';
export const NODE_RP = 'https://rp.nodes.example/';
const EMAIL = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress';
const READY = /listening on (https:\/\/\S+) \((\d+) workers?\)/;

/** One node: an instance directory of its own and an `sts serve` process. */
export interface StsNode {
  readonly name: string;
  readonly home: string;
  readonly baseUrl: string;
  /** The TLS certificate every node shares: the CA a client trusts. */
  readonly tlsCertificatePem: string;
  process: StsProcess;
  /** The node's log lines so far, as records (what test-sts gives for an in-process server). */
  readonly logs: LogRecord[];
  /** Starts `sts serve` again on the same directory and port (after a kill). */
  restart(): Promise<void>;
}

export interface SharedStoreCluster {
  readonly db: TestDatabase;
  readonly nodes: StsNode[];
  /** A store on the shared database in this process, for what the nodes wrote. */
  readonly store: Store;
  /** The ledger's trust: the chain key every node derives from the master key they share, and their config's unkeyed count. */
  readonly ledgerTrust: LedgerTrust;
  /** Runs an `sts` command against a node's directory (asynchronously: the nodes keep serving). */
  sts(node: StsNode, args: readonly string[]): Promise<CliResult>;
  close(): Promise<void>;
}

/** Initialises one instance on a fresh database, copies it to `count` node directories and serves each. */
export async function startSharedStoreCluster(count = 2): Promise<SharedStoreCluster> {
  const db = await createTestDatabase();
  const parent = mkdtempSync(join(tmpdir(), 'trustbridge-nodes-'));
  const passwordFile = join(parent, 'pg.password');
  writeFileSync(passwordFile, `${db.password}\n`, { mode: 0o600 });
  const first = join(parent, 'node-1');
  const init = await runStsAsync(['init', '--home', first, '--store', 'postgres', '--store-url', db.url, '--store-password-file', passwordFile]);
  if (init.status !== 0) throw new Error(`sts init failed: ${init.stderr}`);
  await addPeople(first);

  const homes = [first];
  for (let i = 2; i <= count; i++) {
    const home = join(parent, `node-${i}`);
    mkdirSync(home, { mode: 0o700 });
    for (const part of ['config.json', 'master.key', 'tls']) cpSync(join(first, part), join(home, part), { recursive: true });
    homes.push(home);
  }
  const nodes: StsNode[] = [];
  for (const [i, home] of homes.entries()) nodes.push(await startNode(`node-${i + 1}`, home));
  const ledgerTrust = instanceLedgerTrust(first);
  const store = await openPostgresStore({ connection: parsePostgresUrl(db.url), password: db.password, poolSize: 2, ledgerTrust });
  return {
    db,
    nodes,
    store,
    ledgerTrust,
    sts: (node, args) => runStsAsync([...args, '--home', node.home]),
    close: async () => {
      for (const n of nodes) n.process.forceKill();
      await Promise.all(nodes.map((n) => n.process.waitForExit(10_000).catch(() => undefined)));
      await store.close();
      await db.drop();
      rmSync(parent, { recursive: true, force: true });
    },
  };
}

async function startNode(name: string, home: string): Promise<StsNode> {
  const port = await freePort();
  const logs: LogRecord[] = [];
  const spawnServe = async (): Promise<StsProcess> => {
    const p = new StsProcess(['serve', '--home', home, '--workers', '1', '--port', String(port)]);
    let seen = 0;
    p.child.stdout?.on('data', () => {
      const lines = p.stdout.split('\n');
      for (; seen < lines.length - 1; seen++) {
        const line = lines[seen] ?? '';
        if (!line.startsWith('{')) continue;
        const { level, msg, ...fields } = JSON.parse(line) as { level: LogRecord['level']; msg: string };
        logs.push({ level, msg, fields });
      }
    });
    await p.waitForOutput(READY, 30_000);
    return p;
  };
  const node: StsNode = {
    name,
    home,
    baseUrl: `https://127.0.0.1:${port}`,
    tlsCertificatePem: readFileSync(join(home, 'tls', 'localhost.crt.pem'), 'utf8'),
    process: await spawnServe(),
    logs,
    restart: async () => {
      node.process = await spawnServe();
    },
  };
  return node;
}

/** The user (cheap scrypt: the tests measure the store, not hashing), a relying party and two AWS roles. */
async function addPeople(home: string): Promise<void> {
  const instance = await openInstance(home);
  try {
    const aws = instance.config.aws;
    if (aws.accountId !== ACCOUNT) throw new Error('the test roles assume the default account');
    for (const name of [ROLE, OTHER_ROLE]) await addAwsRole(instance.store, ACCOUNT, { name, trustPolicy: ROLE_TRUST_POLICY });
    await addUser(instance.store, instance.masterKey, {
      name: NODE_USER,
      password: NODE_PASSWORD,
      claims: [{ name: EMAIL, value: NODE_USER }, awsRoleClaim(aws, ROLE), awsRoleClaim(aws, OTHER_ROLE)],
      allowPasswordDigest: false,
      scrypt: CHEAPEST_SCRYPT,
    });
    await addRelyingParty(instance.store, { appliesTo: NODE_RP, displayName: 'Nodes RP', releasedClaims: [EMAIL] });
  } finally {
    await instance.close();
  }
}

/** Base64 DER of a PEM certificate, comparable with signingCertificateOf (xml-edit). */
export const certificateBase64 = (pem: string): string => new X509Certificate(pem).raw.toString('base64');

/** Runs `total` tasks with at most `concurrency` at once; resolves with every outcome, in order. */
export async function runConcurrently<T>(total: number, concurrency: number, task: (i: number) => Promise<T>): Promise<PromiseSettledResult<T>[]> {
  const outcomes: PromiseSettledResult<T>[] = new Array(total);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < total) {
      const i = next++;
      try {
        outcomes[i] = { status: 'fulfilled', value: await task(i) };
      } catch (reason) {
        outcomes[i] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
  return outcomes;
}
