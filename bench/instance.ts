import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addAwsRole, samlTrustPolicy } from '../src/aws/aws-admin';
import { roleArn, samlProviderArn } from '../src/aws/arn';
import { awsRoleClaim } from '../src/aws/role-claim';
import { addRelyingParty } from '../src/core/relying-party-admin';
import { CHEAPEST_SCRYPT, type ScryptParameters } from '../src/identity/password-hash';
import { addUser } from '../src/identity/user-admin';
import { initInstance } from '../src/instance/init-instance';
import { openInstance } from '../src/instance/open-instance';
import { CONFIG_FILE, inHome } from '../src/instance/paths';
import { SAML2 } from '../src/xml/namespaces';

/** A throwaway instance with one benchmark user and one relying party. */
export interface BenchInstance {
  readonly home: string;
  readonly userName: string;
  readonly password: string;
  readonly appliesTo: string;
  /** The AWS role the user is granted, and Trustbridge's own SAML provider, for AssumeRoleWithSAML. */
  readonly awsRoleArn: string;
  readonly awsProviderArn: string;
  /** The scrypt parameters actually stored with the user's hash (read back, not assumed). */
  readonly storedScrypt: ScryptParameters;
  /** PEM of the instance's self-signed TLS certificate, trusted as the only CA by the load generator. */
  readonly tlsCertificatePem: string;
  remove(): void;
}

const CLAIM = {
  email: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress',
  name: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name',
  role: 'http://schemas.microsoft.com/ws/2008/06/identity/claims/role',
};
const USER = 'bench@trustbridge.localhost';
const PASSWORD = 'bench-password-not-a-secret';
const RELYING_PARTY = 'https://rp.example.com/';
const AWS_ROLE = 'BenchRole';

export interface BenchInstanceSettings {
  /** Replaces the config's (validated again when the server starts). */
  readonly logLevel?: string | undefined;
  /**
   * Puts the store in this (empty) PostgreSQL database instead of SQLite; the password comes from
   * STS_PG_PASSWORD, which the server inherits.
   */
  readonly postgresUrl?: string | undefined;
  /** Replaces the config's limits.maxConcurrentRequests. */
  readonly maxConcurrentRequests?: number | undefined;
}

export async function createBenchInstance({ logLevel, postgresUrl, maxConcurrentRequests }: BenchInstanceSettings = {}): Promise<BenchInstance> {
  const home = mkdtempSync(join(tmpdir(), 'trustbridge-bench-'));
  try {
    await initInstance(home, { demo: false, ...(postgresUrl === undefined ? {} : { store: { kind: 'postgres', url: postgresUrl } }) });
    // One assertion is exchanged over and over; AWS itself has no replay rule, so measure that way.
    updateConfig(home, (config) => ({
      ...config,
      ...(logLevel === undefined ? {} : { logLevel }),
      ...(maxConcurrentRequests === undefined ? {} : { limits: { ...(config['limits'] as object), maxConcurrentRequests } }),
      aws: { replay: 'off' },
    }));
    const storedHash = await addBenchUserAndRelyingParty(home);
    const instance = await openInstance(home);
    const tlsCertificatePem = readFileSync(inHome(home, instance.config.tls.certificateFile), 'utf8');
    await instance.close();
    return {
      home,
      userName: USER,
      password: PASSWORD,
      appliesTo: RELYING_PARTY,
      awsRoleArn: roleArn(instance.config.aws.accountId, AWS_ROLE),
      awsProviderArn: samlProviderArn(instance.config.aws.accountId, instance.config.aws.providerName),
      storedScrypt: parseScryptParameters(storedHash),
      tlsCertificatePem,
      remove: () => rmSync(home, { recursive: true, force: true }),
    };
  } catch (err) {
    rmSync(home, { recursive: true, force: true });
    throw err;
  }
}

/**
 * The user gets the cheapest scrypt parameters on purpose: with STRONG_SCRYPT every Issue would
 * spend tens of milliseconds hashing and the benchmark would measure scrypt, not token issuance.
 */
async function addBenchUserAndRelyingParty(home: string): Promise<string> {
  const instance = await openInstance(home);
  try {
    await addUser(instance.store, instance.masterKey, {
      name: USER,
      password: PASSWORD,
      claims: [
        { name: CLAIM.email, value: USER },
        { name: CLAIM.name, value: 'Bench User' },
        { name: CLAIM.role, value: 'Staff' },
        awsRoleClaim(instance.config.aws, AWS_ROLE),
      ],
      allowPasswordDigest: false,
      scrypt: CHEAPEST_SCRYPT,
    });
    await addRelyingParty(instance.store, {
      appliesTo: RELYING_PARTY,
      displayName: 'Benchmark relying party',
      releasedClaims: [CLAIM.email, CLAIM.name],
      nameIdFormat: SAML2.nameIdEmail,
    });
    const { accountId, providerName } = instance.config.aws;
    await addAwsRole(instance.store, accountId, { name: AWS_ROLE, trustPolicy: samlTrustPolicy(samlProviderArn(accountId, providerName)) });
    const user = await instance.store.users.get(USER);
    if (!user) throw new Error('the benchmark user was not stored');
    return user.passwordHash;
  } finally {
    await instance.close();
  }
}

export type ConfigJson = Record<string, unknown>;

/** Rewrites the instance's config.json through `update` (validated again when the server starts). */
export function updateConfig(home: string, update: (config: ConfigJson) => ConfigJson): void {
  const file = join(home, CONFIG_FILE);
  writeFileSync(file, JSON.stringify(update(JSON.parse(readFileSync(file, 'utf8')) as ConfigJson), null, 2) + '\n');
}

/** Reads N, r, p out of a stored `scrypt$N$r$p$salt$hash`. */
function parseScryptParameters(stored: string): ScryptParameters {
  const [scheme, n, r, p] = stored.split('$');
  if (scheme !== 'scrypt') throw new Error('the benchmark user has no scrypt hash');
  return { N: Number(n), r: Number(r), p: Number(p) };
}
