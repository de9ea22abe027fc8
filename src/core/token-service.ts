import { randomUUID, X509Certificate } from 'node:crypto';
import type { AuthenticatedSubject } from '../identity/subject';
import type { SigningKey } from '../keys/signing-key';
import type { AssertionContent } from '../saml/assertion-content';
import { buildSaml11Assertion } from '../saml/saml11-assertion';
import { buildSaml2Assertion } from '../saml/saml2-assertion';
import type { RelyingPartyRecord, Store } from '../store/store';
import { signCanonicalElement, signCanonicalElementOffThread, type CanonicalElement } from '../xml/enveloped-signature';
import { TOKEN_TYPE } from '../xml/namespaces';
import { encryptElementXml } from '../xml/encryption';
import { NS } from '../xml/namespaces';
import { BadRequestError, InvalidScopeError, InvalidTimeRangeError } from './errors';
import { proofKeyInfo, type ProofKey } from './proof-key';
import { profileAttributes } from './profile-attributes';
import { releasedClaims } from './released-claims';

export type IssuableTokenType = 'saml2' | 'saml11';

/** WIF's actor claim type: who acts for the subject in a delegated token. */
export const ACTOR_CLAIM = 'http://schemas.xmlsoap.org/ws/2009/09/identity/claims/actor';

const TOKEN_FORMATS: Record<IssuableTokenType, { build: (c: AssertionContent) => CanonicalElement; typeUri: string }> = {
  saml2: { build: buildSaml2Assertion, typeUri: TOKEN_TYPE.saml20 },
  saml11: { build: buildSaml11Assertion, typeUri: TOKEN_TYPE.saml11 },
};

/** WS-Trust Renewing: Allow (may be renewed) and OK (may be renewed after it expired); defaults per the spec. */
export interface RenewingPolicy {
  readonly allow: boolean;
  readonly afterExpiry: boolean;
}
export const DEFAULT_RENEWING: RenewingPolicy = { allow: true, afterExpiry: false };

export interface IssueTokenRequest {
  readonly subject: AuthenticatedSubject;
  readonly appliesTo: string;
  readonly tokenType: IssuableTokenType;
  /** When the requester wants the token to expire; it can only shorten the relying party's lifetime. */
  readonly requestedExpires: Date | undefined;
  readonly renewing: RenewingPolicy;
  /** Set by Renew: the token this one replaces, linked in the ledger. */
  readonly renewedFrom?: string;
  /** The key a holder-of-key token is bound to; a bearer token when absent. */
  readonly proofKey?: ProofKey;
  /** Set for OnBehalfOf/ActAs: the caller who asked on the subject's behalf, stated in the token and the ledger. */
  readonly actor?: string;
  readonly requestId: string;
}

export interface IssuedToken {
  readonly id: string;
  readonly tokenType: IssuableTokenType;
  readonly xml: string;
  readonly tokenTypeUri: string;
  readonly appliesTo: string;
  readonly created: Date;
  readonly expires: Date;
}

export interface TokenServiceOptions {
  readonly store: Store;
  readonly issuer: string;
  /** The key that signs now; a function because rotation changes it under us. */
  readonly activeSigningKey: () => SigningKey;
  readonly now: () => Date;
  /** Sign on the thread pool (SigningKey.signOffThread) rather than on the event loop. */
  readonly signOffThread: boolean;
}

/**
 * How long a relying party read from the store is reused: a change made with `sts rp` (on any node)
 * applies within this time. Unknown AppliesTo values are never cached, so a new one works at once.
 */
const RELYING_PARTY_CACHE_MS = 5000;

/** The one place that decides what a token says and records it in the ledger before it leaves. */
export class TokenService {
  private readonly relyingParties = new Map<string, { rp: RelyingPartyRecord; until: number }>();
  // Parsed once per cached relying-party record, not on every Issue.
  private readonly encryptionCertificates = new WeakMap<RelyingPartyRecord, X509Certificate>();

  constructor(private readonly options: TokenServiceOptions) {}

  async relyingParty(appliesTo: string): Promise<RelyingPartyRecord> {
    const cached = this.relyingParties.get(appliesTo);
    if (cached && cached.until > Date.now()) return cached.rp;
    const rp = await this.options.store.relyingParties.get(appliesTo);
    if (!rp) throw new InvalidScopeError(`No relying party is registered for AppliesTo "${appliesTo}".`);
    this.relyingParties.set(appliesTo, { rp, until: Date.now() + RELYING_PARTY_CACHE_MS });
    return rp;
  }

  private encryptionCertificate(rp: RelyingPartyRecord): X509Certificate | undefined {
    if (rp.encryptionCertificatePem === null) return undefined;
    let certificate = this.encryptionCertificates.get(rp);
    if (!certificate) {
      certificate = new X509Certificate(rp.encryptionCertificatePem);
      this.encryptionCertificates.set(rp, certificate);
    }
    return certificate;
  }

  async issue(request: IssueTokenRequest): Promise<IssuedToken> {
    const rp = await this.relyingParty(request.appliesTo);
    const created = this.options.now();
    const expires = lifetimeEnd(created, rp, request.requestedExpires);
    const id = newTokenId(created);
    const key = this.options.activeSigningKey();
    const format = TOKEN_FORMATS[request.tokenType];
    const encryptFor = this.encryptionCertificate(rp);
    if (encryptFor && request.tokenType !== 'saml2') {
      throw new BadRequestError('This relying party receives encrypted tokens, which only SAML 2.0 (EncryptedAssertion) offers here.');
    }
    const element = format.build({
      id,
      issueInstant: created,
      issuer: this.options.issuer,
      nameId: request.subject.name,
      nameIdFormat: rp.nameIdFormat,
      confirmationNotOnOrAfter: expires,
      ...(rp.endpointUrl === null ? {} : { recipient: rp.endpointUrl }),
      notBefore: created,
      notOnOrAfter: expires,
      audience: rp.audience ?? rp.appliesTo,
      authnInstant: request.subject.authenticatedAt,
      authnContextClassRef: request.subject.authnContextClassRef,
      attributes: [
        ...releasedClaims(request.subject.claims, rp),
        ...profileAttributes(rp, request.subject),
        ...(request.actor === undefined ? [] : [{ name: ACTOR_CLAIM, values: [request.actor] }]),
      ],
      ...(request.proofKey ? { holderOfKey: proofKeyInfo(request.proofKey, encryptFor) } : {}),
    });
    const signed = this.options.signOffThread ? await signCanonicalElementOffThread(element, key) : signCanonicalElement(element, key);
    const xml = encryptFor
      ? `<EncryptedAssertion xmlns="${NS.saml2}">${encryptElementXml(signed.xml, encryptFor, rp.tokenEncryption)}</EncryptedAssertion>`
      : signed.xml;
    await this.options.store.ledger.record({
      tokenId: id,
      tokenType: format.typeUri,
      subject: request.subject.name,
      audience: rp.appliesTo,
      keyThumbprint: key.thumbprintSha256,
      digest: signed.digest,
      issuedAt: created,
      notBefore: created,
      notOnOrAfter: expires,
      requestId: request.requestId,
      renewedFrom: request.renewedFrom ?? null,
      renewAllow: request.renewing.allow,
      renewAfterExpiry: request.renewing.afterExpiry,
      actor: request.actor ?? null,
    });
    return {
      id,
      tokenType: request.tokenType,
      xml,
      tokenTypeUri: format.typeUri,
      appliesTo: rp.appliesTo,
      created,
      expires,
    };
  }
}

/**
 * A token's ID (SAML ID, ledger key): "_", then 36 hex digits: the issue time in milliseconds modulo
 * 65,536 (4 digits), then a random UUID's 32 (its 122 random bits, as the ID always had). Exactly
 * as unguessable as before and never less unique; but tokens issued close together now have
 * neighbouring IDs, so the rows one ledger transaction commits land on the same pages of the
 * primary-key index instead of as many random ones (the time part wraps every 65 s, which keeps
 * that locality).
 */
export function newTokenId(created: Date): string {
  const time = (created.getTime() & 0xffff).toString(16).padStart(4, '0');
  return `_${time}${randomUUID().replace(/-/g, '')}`;
}

function lifetimeEnd(created: Date, rp: RelyingPartyRecord, requested: Date | undefined): Date {
  const policyEnd = created.getTime() + rp.tokenLifetimeSeconds * 1000;
  if (requested === undefined) return new Date(policyEnd);
  if (requested.getTime() <= created.getTime()) {
    throw new InvalidTimeRangeError('The requested Lifetime has already ended.');
  }
  return new Date(Math.min(policyEnd, requested.getTime()));
}
