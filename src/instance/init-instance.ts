import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_CONFIG, validateConfig, type SigningKeyCustodyConfig, type StsConfig } from '../config/config';
import { addRelyingParty } from '../core/relying-party-admin';
import { addUser } from '../identity/user-admin';
import { generateSelfSignedCertificate } from '../keys/certificates';
import { SAML2 } from '../xml/namespaces';
import { addAwsRole, samlTrustPolicy } from '../aws/aws-admin';
import { roleArn, samlProviderArn } from '../aws/arn';
import { awsRoleClaim } from '../aws/role-claim';
import { AWS_SAML } from '../core/aws-saml';
import { openConfiguredStore } from './open-configured-store';
import { sqliteFileContents, type SqliteFileContents } from '../store/sqlite/sqlite-file-contents';
import type { InitRecords, Store } from '../store/store';
import { masterKeyFromEnvironment } from './master-key';
import { FileNotCreated } from './new-file';
import { makeHome, type NewHome } from './new-home';
import { openInstance, type Instance } from './open-instance';
import { CONFIG_FILE, DEMO_CREDENTIALS_FILE, SIGNING_CERTIFICATE_EXPORT, inHome } from './paths';
import { openSigningKeyCustody } from './signing-key-custody';
import type { KeyAtRest, SigningKeyCustody } from '../keys/key-custody';
import { noticingGenerated, pathsLeftBehind, recordsLeftInDatabase, tokenKeysLeftBehind, withNotes } from './init-left-behind';
import { createActiveSigningKey } from './signing-keys';

export interface InitOptions {
  /** Add the demo user and relying party (the development defaults). */
  readonly demo: boolean;
  readonly port?: number;
  /** Where token-signing keys live (default sealed); with a PKCS#11 token, the first key is generated in it. */
  readonly signingKeyCustody?: SigningKeyCustodyConfig;
  /** The store, over the default (the SQLite file in the instance). */
  readonly store?: Partial<StsConfig['store']>;
}

export interface InitResult {
  readonly created: boolean;
  readonly demoCredentialsFile?: string;
}

export const DEMO_USER = 'demo@trustbridge.localhost';
export const DEMO_RELYING_PARTY = 'https://rp.example.com/';
export const DEMO_AWS_ROLE = 'TrustbridgeDemo';
const CLAIM = {
  email: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress',
  name: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name',
  role: 'http://schemas.microsoft.com/ws/2008/06/identity/claims/role',
};

/**
 * Creates an instance directory (config, master key, TLS and signing keys, database); reuses an
 * existing one. `makeNewHome` is how it makes the directory and takes it back (tests make that fail).
 */
export async function initInstance(home: string, options: InitOptions, makeNewHome: (home: string) => NewHome = makeHome): Promise<InitResult> {
  if (existsSync(join(home, CONFIG_FILE))) return { created: false };
  const config = validateConfig({
    ...DEFAULT_CONFIG,
    listen: { ...DEFAULT_CONFIG.listen, port: options.port ?? DEFAULT_CONFIG.listen.port },
    signingKeyCustody: options.signingKeyCustody ?? DEFAULT_CONFIG.signingKeyCustody,
    store: { ...DEFAULT_CONFIG.store, ...options.store },
  });
  refuseFilesInTheWay(home, config, options.demo);
  if (config.store.kind === 'postgres') await refuseInitialisedDatabase(home, config.store);
  else refuseExistingSqliteFile(inHome(home, config.store.path));
  const newHome = makeNewHome(home);
  try {
    return await populateHome(home, newHome, config, options.demo);
  } catch (err) {
    // A partial instance would pass for a complete one (config.json is there) or be in the next init's way.
    throw withNotes(err, pathsLeftBehind(newHome.takeBack()));
  }
}

/**
 * Init writes only files it creates; one left in the directory is refused before anything is written,
 * here rather than when init reaches it: by then the first signing key could be in a PKCS#11 token,
 * which taking back the directory and the database's rows does not undo.
 */
function refuseFilesInTheWay(home: string, config: StsConfig, demo: boolean): void {
  const written = [
    // Only whether STS_MASTER_KEY is set: populateHome decodes it (and refuses a malformed one).
    ...(process.env['STS_MASTER_KEY'] === undefined ? [inHome(home, config.masterKeyFile)] : []),
    inHome(home, config.tls.certificateFile),
    inHome(home, config.tls.privateKeyFile),
    join(home, SIGNING_CERTIFICATE_EXPORT),
    ...(demo ? [join(home, DEMO_CREDENTIALS_FILE)] : []),
  ];
  // lstat: a dangling symbolic link is in the way too (creating the file through it fails), and existsSync follows it.
  const inTheWay = written.find((path) => lstatSync(path, { throwIfNoEntry: false }) !== undefined);
  if (inTheWay !== undefined) throw new FileNotCreated(inTheWay, 'EEXIST');
}

/**
 * Writes the instance's files and first records into `home`, through `newHome` so that the caller can
 * take the files back; the records are taken back here if a step fails (see addFirstRecordsOrNone).
 */
async function populateHome(home: string, newHome: NewHome, config: StsConfig, demo: boolean): Promise<InitResult> {
  // With STS_MASTER_KEY set, the instance will be opened with it: the first key is sealed under it, and
  // no key file is written into the directory the operator is keeping it out of.
  const fromEnvironment = masterKeyFromEnvironment();
  const masterKey = fromEnvironment ?? randomBytes(32);
  if (fromEnvironment === undefined) writeSecret(newHome, inHome(home, config.masterKeyFile), masterKey.toString('base64') + '\n');
  newHome.makeDirectory(join(home, 'tls'));
  const tls = generateSelfSignedCertificate({
    commonName: 'localhost',
    validDays: 825,
    subjectAltNames: { dns: ['localhost'], ips: ['127.0.0.1', '::1'] },
  });
  writePublic(newHome, inHome(home, config.tls.certificateFile), tls.certificatePem);
  writeSecret(newHome, inHome(home, config.tls.privateKeyFile), tls.privateKeyPem);
  // Opened before the config is written, so a token that cannot be used (wrong PIN, no such label)
  // fails before the instance looks complete.
  const generated: KeyAtRest[] = [];
  const custody = noticingGenerated(openSigningKeyCustody(home, config.signingKeyCustody, masterKey), generated);
  try {
    // The config goes last: its presence is what marks the instance as complete.
    writePublic(newHome, join(home, CONFIG_FILE), JSON.stringify(config, null, 2) + '\n');
    // Opening the instance creates these; what was there already (a database the operator placed) stays.
    if (config.store.kind === 'sqlite') for (const path of sqliteFiles(inHome(home, config.store.path))) newHome.willCreate(path);
    if (config.audit.file !== '') newHome.willCreate(inHome(home, config.audit.file));
    const instance = await openInstance(home);
    try {
      return await addFirstRecordsOrNone(home, newHome, instance, custody, demo);
    } finally {
      await instance.close();
    }
  } catch (err) {
    throw withNotes(err, tokenKeysLeftBehind(generated));
  } finally {
    custody.close();
  }
}

/**
 * addFirstRecords, and if it fails, the rows it wrote are removed: in a shared database they would
 * make the next init refuse it as an instance's, and the rows stay whatever happens to the instance
 * directory. If removing them fails too, the error says which rows remain.
 */
async function addFirstRecordsOrNone(home: string, newHome: NewHome, instance: Instance, custody: SigningKeyCustody, demo: boolean): Promise<InitResult> {
  const written: WrittenRecords = { signingKeys: [], relyingParties: [], awsRoles: [], users: [] };
  try {
    return await addFirstRecords(home, newHome, instance, custody, demo, written);
  } catch (err) {
    if (Object.values(written).every((keys) => keys.length === 0)) throw err;
    try {
      await instance.store.removeInitRecords(written);
    } catch (removal) {
      throw withNotes(err, [recordsLeftInDatabase(written, removal)]);
    }
    throw err;
  }
}

/** InitRecords as addFirstRecords fills them in: each row once its insert has succeeded (one that failed may be another's). */
type WrittenRecords = { readonly [K in keyof InitRecords]: string[] };

/** The first signing key (and its certificate's export), AWS as a relying party, and with `demo` the demo user, role and relying party. */
async function addFirstRecords(
  home: string,
  newHome: NewHome,
  instance: Instance,
  custody: SigningKeyCustody,
  demo: boolean,
  written: WrittenRecords,
): Promise<InitResult> {
  const key = await createActiveSigningKey(instance.store, custody, 'Trustbridge Token Signing');
  written.signingKeys.push(key.thumbprint);
  writePublic(newHome, join(home, SIGNING_CERTIFICATE_EXPORT), key.certificatePem);
  await addAwsRelyingParty(instance.store);
  written.relyingParties.push(AWS_SAML.appliesTo);
  if (!demo) return { created: true };
  const { accountId, providerName } = instance.config.aws;
  await addAwsRole(instance.store, accountId, {
    name: DEMO_AWS_ROLE,
    trustPolicy: samlTrustPolicy(samlProviderArn(accountId, providerName)),
  });
  written.awsRoles.push(DEMO_AWS_ROLE);
  const password = randomBytes(12).toString('base64url');
  await addUser(instance.store, instance.masterKey, {
    name: DEMO_USER,
    password,
    claims: [
      { name: CLAIM.email, value: DEMO_USER },
      { name: CLAIM.name, value: 'Demo User' },
      { name: CLAIM.role, value: 'Staff' },
      awsRoleClaim(instance.config.aws, DEMO_AWS_ROLE),
    ],
    allowPasswordDigest: true,
  });
  written.users.push(DEMO_USER);
  await addRelyingParty(instance.store, {
    appliesTo: DEMO_RELYING_PARTY,
    displayName: 'Demo relying party',
    releasedClaims: [CLAIM.email, CLAIM.name, CLAIM.role],
    nameIdFormat: SAML2.nameIdEmail,
  });
  written.relyingParties.push(DEMO_RELYING_PARTY);
  const credentialsFile = join(home, DEMO_CREDENTIALS_FILE);
  writeSecret(
    newHome,
    credentialsFile,
    `user: ${DEMO_USER}\npassword: ${password}\nrelying party (AppliesTo): ${DEMO_RELYING_PARTY}\n` +
      `AWS role: ${roleArn(accountId, DEMO_AWS_ROLE)} (sts aws login)\n`,
  );
  return { created: true, demoCredentialsFile: credentialsFile };
}

/**
 * A shared database belongs to one instance: its keys are sealed under that instance's master key.
 * Nodes join by copying the instance directory's files, not by running init again.
 */
async function refuseInitialisedDatabase(home: string, settings: StsConfig['store']): Promise<void> {
  const store = await openConfiguredStore(settings, { resolvePath: (path) => inHome(home, path) });
  try {
    if ((await store.signingKeys.list()).length > 0) {
      throw new Error(
        `the database ${settings.url} already holds an instance (its signing keys): to add a node, copy config.json, ` +
          `master.key and tls/ from an existing node's instance directory instead of running sts init`,
      );
    }
  } finally {
    await store.close();
  }
}

/**
 * Init writes only into a database it creates or one of Trustbridge's without an instance in it (an
 * operator's, with users they placed, as in PostgreSQL): anything else in its place is refused before
 * anything is written, here rather than when init reaches it. An instance's left without its config
 * (config.json moved or lost) has its keys sealed under another master key, and init would get as
 * far as generating a key (in a PKCS#11 token, one that outlives the failure) before the database
 * refused a second active key; another application's would be migrated into.
 */
function refuseExistingSqliteFile(path: string): void {
  let contents: SqliteFileContents;
  try {
    contents = sqliteFileContents(path);
  } catch (err) {
    throw new Error(`the database ${path} cannot be read (${(err as Error).message}): move it away or choose another --home`);
  }
  if (contents === 'signing keys') {
    throw new Error(
      `the database ${path} already holds a Trustbridge instance (its signing keys): choose another --home, ` +
        `or remove or rename the database if that instance is really meant to be replaced`,
    );
  }
  if (contents === 'something else') {
    throw new Error(
      `the database ${path} is not Trustbridge's (it has no signing_keys table) and is not empty: init writes only into ` +
        `a database it creates or one of Trustbridge's; move the file away or choose another --home`,
    );
  }
}

// Init writes only files it creates: a master key or anything else an operator left in the directory
// is never overwritten (the run fails, and takes back only what it made).
function writeSecret(newHome: NewHome, path: string, content: string): void {
  newHome.writeNewFile(path, 0o600, () => content);
}

function writePublic(newHome: NewHome, path: string, content: string): void {
  newHome.writeNewFile(path, 0o644, () => content);
}

/** AWS as a relying party, the trust AD FS administrators create as urn:amazon:webservices. */
async function addAwsRelyingParty(store: Store): Promise<void> {
  await addRelyingParty(store, {
    appliesTo: AWS_SAML.appliesTo,
    displayName: 'Amazon Web Services',
    audience: AWS_SAML.signinUrl,
    endpointUrl: AWS_SAML.signinUrl,
    profile: 'aws',
    nameIdFormat: SAML2.nameIdPersistent,
  });
}

/** The SQLite database and the files SQLite keeps beside it while it is open (WAL mode), which a crash can leave. */
function sqliteFiles(path: string): string[] {
  return [path, `${path}-wal`, `${path}-shm`];
}
