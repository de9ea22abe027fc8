import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { recordAdminEvent } from '../../audit/admin-audit';
import { ALERTS } from '../../audit/alerts';
import type { Instance } from '../../instance/open-instance';
import { keyAtRestForm } from '../../keys/key-custody';
import { exportSealedPrivateKey } from '../../keys/key-material';
import type { SigningKeyRecord } from '../../store/store';
import { HELP_FLAG, HOME_FLAG, UsageError } from '../args';
import type { Command } from '../command';
import { FileNotCreated, writeNewFile } from '../../instance/new-file';
import { withInstance } from '../with-instance';
import { findKey } from './keys';

// `sts keys export`: a signing certificate for a relying party's administrator (harmless), or, with
// every safeguard given, the private key encrypted under a passphrase. The second is what a Golden
// SAML attacker is after, so it is refused by default, raises a critical alert when done, and every
// refused attempt is in the audit trail too.

/** Shorter passphrases fall to offline guessing of the exported file (PBKDF2 slows each guess, not enough). */
const MIN_PASSPHRASE_LENGTH = 16;

const GOLDEN_SAML_WARNING =
  'a copy of a token-signing key outside Trustbridge is exactly what a Golden SAML attack needs: whoever holds it\n' +
  'can mint tokens every relying party accepts, and Trustbridge cannot tell. Prefer rotating (`sts keys rotate`) and\n' +
  'letting relying parties read the new certificate. If you must export it, add --private-key --passphrase-file FILE\n' +
  '--i-understand-the-risk, keep the file offline, and destroy it after use.';

/** A refused export: audited with its code, said to the operator, exit 1. */
class ExportRefused extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const keysExportCommand: Command = {
  name: 'keys export',
  usage: 'sts keys export THUMBPRINT --out FILE [--private-key --passphrase-file FILE --i-understand-the-risk]',
  summary:
    'Writes a token-signing key\'s certificate (PEM) to FILE, for a relying party to trust. With --private-key, writes\n' +
    'the private key instead, as encrypted PKCS#8 PEM (AES-256-CBC, PBKDF2 from the passphrase), mode 0600; refused\n' +
    'unless --i-understand-the-risk is given (a copy of the key is what Golden SAML needs), and refused for keys\n' +
    'held in a PKCS#11 token (they are not extractable). A private-key export is a critical alert\n' +
    '(signing-key-exported) in the audit trail; so is every refused attempt an audit event. FILE must not exist.',
  flags: [
    HOME_FLAG,
    { name: 'out', kind: 'string', help: 'the file to write (never standard output; an existing file is not overwritten)' },
    { name: 'private-key', kind: 'boolean', help: 'export the private key (encrypted) instead of the certificate' },
    { name: 'passphrase-file', kind: 'string', help: `with --private-key: a file whose first line (${MIN_PASSPHRASE_LENGTH}+ characters) encrypts the key` },
    { name: 'i-understand-the-risk', kind: 'boolean', help: 'with --private-key: accept that a copy of the key can forge tokens' },
    HELP_FLAG,
  ],
  async run(args, io) {
    const [given, ...extra] = args.positionals;
    const out = args.strings.get('out');
    if (given === undefined || extra.length > 0 || out === undefined) throw new UsageError('give one THUMBPRINT and --out');
    if (out === '-' || out === '') throw new UsageError('--out must name a file: keys are never written to standard output');
    const path = resolve(out);
    const privateKey = args.booleans.has('private-key');
    if (!privateKey && (args.strings.has('passphrase-file') || args.booleans.has('i-understand-the-risk'))) {
      throw new UsageError('--passphrase-file and --i-understand-the-risk go with --private-key');
    }
    return withInstance(args, async (instance) => {
      const key = findKey(await instance.store.signingKeys.list(), given);
      const eventName = privateKey ? 'ExportSigningKey' : 'ExportSigningCertificate';
      const request = { thumbprint: key.thumbprint, state: key.state, out: path, ...(privateKey ? { privateKey: true } : {}) };
      try {
        // The safeguards are checked first; the key is unsealed and encrypted (PBKDF2) only once the file exists.
        const content = privateKey
          ? encryptPrivateKey(instance, key, args.booleans.has('i-understand-the-risk'), args.strings.get('passphrase-file'))
          : () => key.certificatePem;
        writeNewFile(path, privateKey ? 0o600 : 0o644, content);
      } catch (err) {
        const refused = err instanceof FileNotCreated ? new ExportRefused('OutputNotWritable', err.message) : err;
        const code = refused instanceof ExportRefused ? refused.code : 'ExportFailed';
        recordAdminEvent(instance, eventName, request, {
          error: { code, message: firstLine(refused) },
          // Someone tried to copy a signing key: worth a defender's look, whatever stopped them (a refusal or
          // a failure, such as a key that does not unseal).
          ...(privateKey ? { severity: 'warning' as const } : {}),
        });
        if (!(refused instanceof ExportRefused)) throw err;
        io.err(`sts keys export: refused: ${refused.message}\n`);
        return 1;
      }
      if (!privateKey) {
        recordAdminEvent(instance, eventName, request);
        io.out(`exported the certificate of ${key.thumbprint} (${key.state}) to ${path}\n`);
        return 0;
      }
      recordAdminEvent(instance, eventName, request, {
        responseElements: { format: 'pkcs8-pem', cipher: 'aes-256-cbc', fileMode: '0600' },
        alert: ALERTS.signingKeyExported,
      });
      io.out(
        `exported the private key of ${key.thumbprint} (${key.state}) to ${path}, encrypted under the passphrase\n` +
          '(PKCS#8, AES-256-CBC, mode 0600). Whoever holds this file and the passphrase can forge tokens: keep it offline,\n' +
          'destroy it after use, and rotate (`sts keys rotate`) if it may have been copied.\n',
      );
      return 0;
    });
  },
};

/** What the audit trail keeps of an error: its first line (the messages here name files and codes, never key material). */
function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
}

/** What encrypts the key under the passphrase, once every safeguard holds; ExportRefused names the one that does not. */
function encryptPrivateKey(instance: Instance, key: SigningKeyRecord, riskAccepted: boolean, passphraseFile: string | undefined): () => string {
  if (!riskAccepted) throw new ExportRefused('RiskNotAcknowledged', GOLDEN_SAML_WARNING);
  // A token's keys are generated inside it as non-extractable: not even Trustbridge can read them.
  if (instance.config.signingKeyCustody.kind === 'pkcs11' || keyAtRestForm(key.sealedPrivateKey) === 'pkcs11') {
    throw new ExportRefused(
      'KeyNotExtractable',
      'signingKeyCustody is "pkcs11": the key was generated inside the token as non-extractable and cannot leave it.\n' +
        'Relying parties need only the certificate: sts keys export THUMBPRINT --out FILE',
    );
  }
  if (keyAtRestForm(key.sealedPrivateKey) !== 'sealed') {
    throw new ExportRefused('KeyNotSealed', `key ${key.thumbprint} is not sealed under the master key; it is not exported`);
  }
  if (passphraseFile === undefined) {
    throw new ExportRefused('PassphraseMissing', 'give --passphrase-file FILE: the private key is only ever written encrypted');
  }
  let passphrase: string;
  try {
    passphrase = readFileSync(passphraseFile, 'utf8').split(/\r?\n/)[0] ?? '';
  } catch {
    throw new ExportRefused('PassphraseUnreadable', `the passphrase file ${passphraseFile} cannot be read`);
  }
  if (passphrase.length < MIN_PASSPHRASE_LENGTH) {
    throw new ExportRefused('PassphraseTooShort', `the passphrase (first line of ${passphraseFile}) must have at least ${MIN_PASSPHRASE_LENGTH} characters`);
  }
  return () => exportSealedPrivateKey(key, instance.masterKey, passphrase);
}
