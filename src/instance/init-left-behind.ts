import type { KeyAtRest, SigningKeyCustody } from '../keys/key-custody';
import { isTokenKeyReference, parseTokenKeyReference } from '../keys/pkcs11/pkcs11-uri';
import type { InitRecords } from '../store/store';
import type { NotTakenBack } from './new-home';

// What a failed `sts init` cannot take back, and how its error tells the operator: the files and the
// rows it wrote are removed, but not a key generated in a PKCS#11 token, nor rows or files whose
// removal failed.

/** `custody`, adding each key it generates to `generated`: one generated in a token outlives a failed init. */
export function noticingGenerated(custody: SigningKeyCustody, generated: KeyAtRest[]): SigningKeyCustody {
  return {
    kind: custody.kind,
    generate: (request) => {
      const key = custody.generate(request);
      generated.push(key);
      return key;
    },
    import: (privateKeyPem, certificatePem) => custody.import(privateKeyPem, certificatePem),
    open: (record) => custody.open(record),
    close: () => custody.close(),
  };
}

/** A note for each of `generated` held in a PKCS#11 token (a sealed key was only ever in the rows). */
export function tokenKeysLeftBehind(generated: readonly KeyAtRest[]): string[] {
  return generated
    .filter((key) => isTokenKeyReference(key.privateKeyAtRest))
    .map((key) => {
      const { tokenLabel, id } = parseTokenKeyReference(key.privateKeyAtRest);
      const hex = id.toString('hex');
      return (
        `the key pair init generated in the PKCS#11 token "${tokenLabel}" stays there (CKA_ID ${hex}): Trustbridge deletes nothing ` +
        `from a token; if it is not wanted, delete it with the token's tools (e.g. pkcs11-tool --delete-object --type privkey --id ${hex}, then --type pubkey)`
      );
    });
}

/** The note for rows init wrote and could not remove: the next init would refuse the database as an instance's. */
export function recordsLeftInDatabase(written: InitRecords, removal: unknown): string {
  const rows = [
    ...written.signingKeys.map((k) => `signing key ${k}`),
    ...written.relyingParties.map((rp) => `relying party ${rp}`),
    ...written.awsRoles.map((r) => `AWS role ${r}`),
    ...written.users.map((u) => `user ${u}`),
  ];
  return `removing what init wrote in the database failed (${messageOf(removal)}), so it still holds ${rows.join(', ')}: delete them before running sts init against it again`;
}

/**
 * A note for each file or directory init made and could not remove: each would be in the next
 * init's way, and one may be a secret (the master key, the TLS key).
 */
export function pathsLeftBehind(left: readonly NotTakenBack[]): string[] {
  return left.map(({ path, error }) => `${path}, which init created, stays there (removing it failed: ${messageOf(error)}): remove it before running sts init there again`);
}

/** An init that failed, with what it left behind that the operator must know of after its own message. */
class FailedLeavingBehind extends Error {
  constructor(
    readonly failure: unknown,
    readonly notes: readonly string[],
  ) {
    super(`${messageOf(failure)} (${notes.join('; ')})`, { cause: failure });
  }
}

/** `err` with `notes` added to what it says was left behind; `err` itself when there are none. */
export function withNotes(err: unknown, notes: readonly string[]): unknown {
  if (notes.length === 0) return err;
  return err instanceof FailedLeavingBehind ? new FailedLeavingBehind(err.failure, [...err.notes, ...notes]) : new FailedLeavingBehind(err, notes);
}

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));
