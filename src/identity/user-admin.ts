import { seal } from '../keys/sealed-box';
import type { Claim, Store } from '../store/store';
import { sealedPasswordContext } from './embedded-users';
import { hashPassword, STRONG_SCRYPT, type ScryptParameters } from './password-hash';

export interface NewUser {
  readonly name: string;
  readonly password: string;
  readonly claims: readonly Claim[];
  /** Keep the password sealed so PasswordDigest can be checked; off unless asked for. */
  readonly allowPasswordDigest: boolean;
  readonly scrypt?: ScryptParameters;
}

// Characters XML 1.0 cannot carry; a value with one would make every token for this user unparsable.
const NOT_XML_CHARACTERS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;

export async function addUser(store: Store, masterKey: Buffer, user: NewUser): Promise<void> {
  if (user.name.trim() !== user.name || user.name === '' || NOT_XML_CHARACTERS.test(user.name)) {
    throw new Error('a user name must be non-empty, without surrounding spaces or control characters');
  }
  if (user.password.length === 0) throw new Error('the password must not be empty');
  for (const claim of user.claims) {
    if (claim.name === '' || NOT_XML_CHARACTERS.test(claim.name) || NOT_XML_CHARACTERS.test(claim.value)) {
      throw new Error(`the claim "${claim.name}" has an empty name or a control character`);
    }
  }
  await store.users.add({
    name: user.name,
    passwordHash: await hashPassword(user.password, user.scrypt ?? STRONG_SCRYPT),
    sealedPassword: user.allowPasswordDigest
      ? seal(Buffer.from(user.password, 'utf8'), masterKey, sealedPasswordContext(user.name))
      : null,
    claims: user.claims,
    createdAt: new Date(),
  });
}
