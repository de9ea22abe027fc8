import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { HELP_FLAG, HOME_FLAG, UsageError } from '../args';
import type { CliIo, Command } from '../command';
import { withInstance } from '../with-instance';
import { recordAdminEvent } from '../../audit/admin-audit';
import { ALERTS } from '../../audit/alerts';
import type { Instance } from '../../instance/open-instance';
import { exportActiveCertificate } from '../../instance/signing-keys';
import { certificateNotAfter, generateSigningKey, importSigningKey } from '../../keys/key-material';
import { TOKEN_IMPORT_REFUSED } from '../../keys/pkcs11/token-custody';
import { REVOCABLE, retirementDelayMs, retirementDue } from '../../keys/key-lifecycle';
import type { SigningKeyRecord } from '../../store/store';

// `sts keys`: the token-signing key lifecycle. Every command says what it changed; a running
// `sts serve` (every worker, every node) picks the change up within seconds, without a restart.

const PICKUP = 'running servers pick this up within seconds';

/** A key named by its full SHA-256 thumbprint or an unambiguous prefix of at least 8 hex digits. */
export function findKey(keys: readonly SigningKeyRecord[], given: string): SigningKeyRecord {
  const prefix = given.toLowerCase();
  if (!/^[0-9a-f]{8,64}$/.test(prefix)) throw new UsageError(`"${given}" is not a SHA-256 thumbprint (8 to 64 hex digits, as sts keys list shows)`);
  const matches = keys.filter((k) => k.thumbprint.startsWith(prefix));
  if (matches.length === 0) throw new Error(`no token-signing key has thumbprint ${given}: see "sts keys list"`);
  if (matches.length > 1) throw new Error(`${given} matches ${matches.length} keys: give more of the thumbprint`);
  return matches[0] as SigningKeyRecord;
}

const subjectOf = (k: SigningKeyRecord): string => new X509Certificate(k.certificatePem).subject.replace(/\n/g, ', ');
const iso = (d: Date | undefined): string | undefined => d?.toISOString();

function describeKey(k: SigningKeyRecord, retireDelayMs: number): string {
  const stamps = [
    ['created', iso(k.createdAt)],
    ['activated', iso(k.activatedAt)],
    ['retiring', iso(k.retiringAt)],
    ['retire due', iso(retirementDue(k, retireDelayMs))],
    ['retired', iso(k.retiredAt)],
    ['revoked', iso(k.revokedAt)],
  ].filter((s): s is [string, string] => s[1] !== undefined);
  return (
    `${k.thumbprint}  ${k.state}\n` +
    `  subject ${subjectOf(k)}, not after ${certificateNotAfter(k).toISOString()}\n` +
    `  ${stamps.map(([name, at]) => `${name} ${at}`).join(', ')}\n`
  );
}

export const keysListCommand: Command = {
  name: 'keys list',
  usage: 'sts keys list',
  summary: 'Lists the token-signing keys: SHA-256 thumbprint, state, subject, certificate expiry and lifecycle times.',
  flags: [HOME_FLAG, HELP_FLAG],
  async run(args, io) {
    if (args.positionals.length > 0) throw new UsageError('takes no arguments');
    await withInstance(args, async (instance) => {
      const delay = retirementDelayMs(await instance.store.relyingParties.list(), instance.config.clockSkewSeconds);
      for (const k of await instance.store.signingKeys.list()) io.out(describeKey(k, delay));
    });
    return 0;
  },
};

export const keysRotateCommand: Command = {
  name: 'keys rotate',
  usage: 'sts keys rotate [--now | --emergency]',
  summary:
    'Generates a new token-signing key (RSA-2048, self-signed, keyRollover.certificateDays) as pending: published in\n' +
    'the federation metadata so relying parties can trust it before it signs; promote it with `sts keys promote`.\n' +
    '--now promotes it at once (the active key becomes retiring: its tokens stay valid until they expire).\n' +
    '--emergency promotes it at once and REVOKES the active key: every token it signed stops validating (use when\n' +
    'the key may be compromised).',
  flags: [
    HOME_FLAG,
    { name: 'now', kind: 'boolean', help: 'promote the new key at once; the active key becomes retiring' },
    { name: 'emergency', kind: 'boolean', help: 'promote the new key at once and revoke the active key' },
    HELP_FLAG,
  ],
  async run(args, io) {
    if (args.positionals.length > 0) throw new UsageError('takes no arguments');
    const emergency = args.booleans.has('emergency');
    const now = args.booleans.has('now');
    if (emergency && now) throw new UsageError('give --now or --emergency, not both');
    await withInstance(args, async (instance) => {
      const key = await generateSigningKey(instance.store.signingKeys, instance.signingKeyCustody(), {
        state: 'pending',
        validDays: instance.config.keyRollover.certificateDays,
      });
      recordAdminEvent(instance, 'GenerateSigningKey', { thumbprint: key.thumbprint, state: 'pending' });
      io.out(`generated pending key ${key.thumbprint} (${subjectOf(key)}, not after ${certificateNotAfter(key).toISOString()})\n`);
      if (!now && !emergency) {
        io.out(
          `it is published in the federation metadata now; once relying parties have read it, promote it with\n` +
            `  sts keys promote ${key.thumbprint}\n` +
            (instance.config.keyRollover.enabled ? `(the automatic rollover promotes it after ${instance.config.keyRollover.promoteAfterDays} days)\n` : ''),
        );
        return;
      }
      await promoteAndReport(instance, key.thumbprint, emergency, io);
    });
    return 0;
  },
};

async function promoteAndReport(instance: Instance, thumbprint: string, emergency: boolean, io: CliIo): Promise<void> {
  const result = await instance.store.signingKeys.promote(thumbprint, new Date(), { revokePrevious: emergency });
  if (!result.promoted) {
    throw new Error(
      result.state === null ? `key ${thumbprint} is gone` : `key ${thumbprint} is ${result.state}, not pending: only a pending key can be promoted`,
    );
  }
  await exportActiveCertificate(instance.home, instance.store);
  recordAdminEvent(instance, emergency ? 'EmergencyRotateSigningKey' : 'PromoteSigningKey', {
    thumbprint,
    previous: result.previous,
    previousState: result.previous === null ? null : emergency ? 'revoked' : 'retiring',
  });
  io.out(`promoted ${thumbprint}: it signs tokens now (${PICKUP})\n`);
  if (result.previous === null) return;
  io.out(
    emergency
      ? `revoked ${result.previous}: tokens it signed no longer validate\n`
      : `${result.previous} is retiring: tokens it signed stay valid until they expire, then it is retired\n`,
  );
}

export const keysPromoteCommand: Command = {
  name: 'keys promote',
  usage: 'sts keys promote [THUMBPRINT]',
  summary:
    'Makes a pending key active; the active key becomes retiring (its tokens stay valid until they expire).\n' +
    'Without THUMBPRINT, promotes the only pending key.',
  flags: [HOME_FLAG, HELP_FLAG],
  async run(args, io) {
    const [given, ...extra] = args.positionals;
    if (extra.length > 0) throw new UsageError('give at most one THUMBPRINT');
    await withInstance(args, async (instance) => {
      const keys = await instance.store.signingKeys.list();
      let key: SigningKeyRecord;
      if (given !== undefined) key = findKey(keys, given);
      else {
        const pending = keys.filter((k) => k.state === 'pending');
        if (pending.length === 0) throw new Error('no key is pending: generate one with "sts keys rotate"');
        if (pending.length > 1) throw new Error(`${pending.length} keys are pending: name one (sts keys promote THUMBPRINT; see sts keys list)`);
        key = pending[0] as SigningKeyRecord;
      }
      if (key.state !== 'pending') throw new Error(`key ${key.thumbprint} is ${key.state}, not pending: only a pending key can be promoted`);
      await promoteAndReport(instance, key.thumbprint, false, io);
    });
    return 0;
  },
};

export const keysRevokeCommand: Command = {
  name: 'keys revoke',
  usage: 'sts keys revoke THUMBPRINT',
  summary:
    'Revokes a key: tokens it signed stop validating at once, and it is no longer published. The active key\n' +
    'cannot be revoked alone (nothing would sign): use `sts keys rotate --emergency` to replace and revoke it.',
  flags: [HOME_FLAG, HELP_FLAG],
  async run(args, io) {
    const [given, ...extra] = args.positionals;
    if (given === undefined || extra.length > 0) throw new UsageError('give one THUMBPRINT');
    await withInstance(args, async (instance) => {
      const key = findKey(await instance.store.signingKeys.list(), given);
      if (key.state === 'revoked') throw new Error(`key ${key.thumbprint} is already revoked`);
      if (key.state === 'active') {
        throw new Error(
          `key ${key.thumbprint} is the active key: revoking it would leave nothing to sign tokens.\n` +
            `To replace it and revoke it at once, run: sts keys rotate --emergency`,
        );
      }
      if (!(await instance.store.signingKeys.setState(key.thumbprint, REVOCABLE.filter((s) => s !== 'active'), 'revoked', new Date()))) {
        const now = await instance.store.signingKeys.get(key.thumbprint);
        throw new Error(`key ${key.thumbprint} changed meanwhile (it is ${now?.state ?? 'gone'}); nothing was revoked: run the command again`);
      }
      recordAdminEvent(instance, 'RevokeSigningKey', { thumbprint: key.thumbprint, previousState: key.state });
      io.out(`revoked ${key.thumbprint} (was ${key.state}): tokens it signed no longer validate (${PICKUP})\n`);
    });
    return 0;
  },
};

export const SILVER_SAML_WARNING =
  'an imported key may exist elsewhere: whoever else holds it can mint tokens you will accept — the Silver SAML hole;\n' +
  'generate keys with `sts keys rotate` instead. If you must import (and have made sure no copy is left where it came\n' +
  'from), add --i-understand-the-risk.';

export const keysImportCommand: Command = {
  name: 'keys import',
  usage: 'sts keys import --cert PEM_FILE --key PEM_FILE --i-understand-the-risk',
  summary:
    'Imports a token-signing key made elsewhere, as pending. Refused unless --i-understand-the-risk is given: a key\n' +
    'generated outside Trustbridge may have copies, and whoever holds one can forge tokens (Silver SAML).',
  flags: [
    HOME_FLAG,
    { name: 'cert', kind: 'string', help: 'the certificate (PEM)' },
    { name: 'key', kind: 'string', help: 'its private key (PEM, unencrypted)' },
    { name: 'i-understand-the-risk', kind: 'boolean', help: 'accept that copies of the key may exist elsewhere' },
    HELP_FLAG,
  ],
  async run(args, io) {
    if (args.positionals.length > 0) throw new UsageError('takes no arguments');
    if (!args.booleans.has('i-understand-the-risk')) {
      io.err(`sts keys import: refused: ${SILVER_SAML_WARNING}\n`);
      return 1;
    }
    const certFile = args.strings.get('cert');
    const keyFile = args.strings.get('key');
    if (certFile === undefined || keyFile === undefined) throw new UsageError('give --cert and --key');
    await withInstance(args, async (instance) => {
      // Refused before the key file is even read: with a token, no private key passes through here.
      if (instance.config.signingKeyCustody.kind === 'pkcs11') throw new Error(TOKEN_IMPORT_REFUSED);
      const certificatePem = readPem(certFile, 'certificate');
      const privateKeyPem = readPem(keyFile, 'private key');
      let key: SigningKeyRecord;
      try {
        key = await importSigningKey(instance.store.signingKeys, instance.signingKeyCustody(), privateKeyPem, certificatePem);
      } catch (err) {
        const message = (err as Error).message;
        // Never echo what was read: it may be key material.
        if (err instanceof Error && err.name === 'AlreadyExistsError') throw err;
        throw new Error(`cannot import ${certFile} with ${keyFile}: ${/does not match|expired|only RSA/.test(message) ? message : 'not a PEM certificate and matching unencrypted private key'}`);
      }
      recordAdminEvent(instance, 'ImportSigningKey', { thumbprint: key.thumbprint, state: 'pending' }, { alert: ALERTS.signingKeyImported });
      io.out(
        `imported ${key.thumbprint} as pending (${subjectOf(key)}, not after ${certificateNotAfter(key).toISOString()})\n` +
          `promote it with: sts keys promote ${key.thumbprint}\n`,
      );
    });
    return 0;
  },
};

function readPem(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    throw new UsageError(`the ${what} file ${file} cannot be read`);
  }
}
