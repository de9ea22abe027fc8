import type { TestSigningKey } from '../stolen-key';
import type { PostResult } from '../sts-post';
import { appliesTo } from '../trust-messages';
import {
  actAs,
  ATTACKER,
  cancelTarget,
  onBehalfOf,
  renewTarget,
  RP_DELEGATED,
  SERVICE,
  validateTarget,
  type AttackSts,
  type Operation,
  type Soap,
  type Version,
} from './attack-sts';
import { expectSoapFault, expectValidateStatus } from './expected-rejections';

// Every WS-Trust element that carries a token the STS must verify, with the answer a refused token
// gets there. The token verifier's own reason ("the token is not signed") reaches the caller in each:
// as the Validate Status reason, inside an UnableToRenew or a delegation FailedAuthentication reason;
// a CancelTarget's refusal always reads the same, since whose token it is cannot be known.

export interface TokenSlot {
  /** For test names: the operation, version and what sits in the slot. */
  readonly name: string;
  /** For test names: how a refused token is answered. */
  readonly answer: string;
  readonly op: Operation;
  readonly version: Version;
  readonly soap: Soap;
  readonly user: string;
  /** The element holding the token. */
  readonly slot: (token: string) => string;
  /** RST children before the slot (AppliesTo for delegation). */
  readonly prefix: string;
  /** A genuine token, signed by that issuer, naming ATTACKER. */
  genuine(sts: AttackSts): Promise<string>;
  /** The key the STS trusts for tokens in this slot. */
  trustedKey(sts: AttackSts): TestSigningKey;
  /** Checks the answer to a refused token, whose verifier said `reason`. */
  expectRefused(res: PostResult, reason: string): void;
  /** What the caller is told when the token verifier said `reason` (the same, except where a slot re-checks). */
  reasonFor(reason: string): string;
}

const sameReason = (reason: string): string => reason;

const BAD_SIGNATURE = 'the signature is not valid under any trusted key';
const UNTRUSTED_KEY = 'the token is signed with a certificate that is not trusted';
const NOT_ISSUED_BY_US = 'the token was not issued by this STS (no matching issuance record)';

const own = {
  reasonFor: sameReason,
  genuine: (sts: AttackSts) => sts.issue(),
  trustedKey: (sts: AttackSts) => sts.ownKey(),
};

const validate = (version: Version, soap: Soap): TokenSlot => ({
  ...own,
  name: `Validate ${version} (SOAP ${soap})`,
  answer: 'Status invalid',
  op: 'Validate',
  version,
  soap,
  user: ATTACKER,
  slot: validateTarget,
  prefix: '',
  expectRefused: (res, reason) => expectValidateStatus(res, { soap, trust: version, valid: false, reason }),
});

const renew = (version: Version, soap: Soap): TokenSlot => ({
  ...own,
  name: `Renew ${version} (SOAP ${soap})`,
  answer: 'wst:UnableToRenew',
  op: 'Renew',
  version,
  soap,
  user: ATTACKER,
  slot: renewTarget,
  prefix: '',
  expectRefused: (res, reason) =>
    expectSoapFault(res, { soap, trust: version, family: 'wst', code: 'UnableToRenew', reason: `The token cannot be renewed: ${reason}.` }),
});

const cancel = (version: Version, soap: Soap): TokenSlot => ({
  ...own,
  name: `Cancel ${version} (SOAP ${soap})`,
  answer: 'wst:InvalidRequest, nothing cancelled',
  op: 'Cancel',
  version,
  soap,
  user: ATTACKER,
  slot: cancelTarget,
  prefix: '',
  expectRefused: (res) =>
    expectSoapFault(res, { soap, trust: version, family: 'wst', code: 'InvalidRequest', reason: 'The CancelTarget is not a token this STS issued.' }),
});

const delegated = (kind: 'OnBehalfOf' | 'ActAs', issuer: 'own' | 'partner'): TokenSlot => ({
  name: `${kind} 1.3 (SOAP 1.2) with ${issuer === 'own' ? 'one of our tokens' : 'a pinned partner IdP\'s token'}`,
  answer: 'wst:FailedAuthentication',
  op: 'Issue',
  version: '1.3',
  soap: '1.2',
  user: SERVICE,
  slot: kind === 'OnBehalfOf' ? onBehalfOf : actAs,
  prefix: appliesTo(RP_DELEGATED),
  genuine: issuer === 'own' ? (sts) => sts.issue() : async (sts) => sts.partnerToken(ATTACKER),
  trustedKey: issuer === 'own' ? (sts) => sts.ownKey() : (sts) => sts.partnerKey,
  // A token that is not a good one of ours is tried again against the pinned issuers. When ours failed
  // only at the last step (no valid signature by our key) with our certificate in KeyInfo, the pins'
  // answer is the one given: that certificate is not pinned. Defensible, if less precise.
  reasonFor: issuer === 'own' ? (reason) => (reason === BAD_SIGNATURE ? UNTRUSTED_KEY : reason) : sameReason,
  expectRefused: (res, reason) =>
    expectSoapFault(res, { soap: '1.2', trust: '1.3', family: 'wst', code: 'FailedAuthentication', reason: delegatedRefusal(reason) }),
});

/**
 * How delegation words the verifier's reason: a key not pinned is said so; a token signed by our key
 * that we never issued is "not valid" (it is ours, refused with an alert, never tried against pins).
 */
function delegatedRefusal(reason: string): string {
  if (reason === UNTRUSTED_KEY) return 'The delegated token is signed by a certificate not pinned for its issuer.';
  if (reason === NOT_ISSUED_BY_US) return `The delegated token is not valid: ${reason}.`;
  return `The delegated token is not accepted: ${reason}.`;
}

export const SLOTS = {
  validate13: validate('1.3', '1.2'),
  validate2005: validate('2005', '1.1'),
  renew13: renew('1.3', '1.1'),
  cancel13: cancel('1.3', '1.2'),
  cancel2005: cancel('2005', '1.1'),
  onBehalfOfOwn: delegated('OnBehalfOf', 'own'),
  actAsOwn: delegated('ActAs', 'own'),
  onBehalfOfPartner: delegated('OnBehalfOf', 'partner'),
  actAsPartner: delegated('ActAs', 'partner'),
} as const;

/** Sends `token` in the slot, with `before`/`after` as its siblings in the RST and an optional envelope edit. */
export function sendInSlot(
  sts: AttackSts,
  s: TokenSlot,
  token: string,
  o: { readonly before?: string; readonly after?: string; readonly edit?: (envelope: string) => string } = {},
): Promise<PostResult> {
  return sts.send({
    op: s.op,
    version: s.version,
    soap: s.soap,
    user: s.user,
    rstBody: `${s.prefix}${o.before ?? ''}${s.slot(token)}${o.after ?? ''}`,
    ...(o.edit ? { edit: o.edit } : {}),
  });
}
