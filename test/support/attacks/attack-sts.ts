import { strict as assert } from 'node:assert';
import { createPrivateKey, randomUUID, X509Certificate } from 'node:crypto';
import { generateSelfSignedCertificate } from '../../../src/keys/certificates';
import { certificateThumbprintSha256 } from '../../../src/keys/signing-key';
import { stealActiveKey, testSigningKey, type TestSigningKey } from '../stolen-key';
import { buildSaml11Assertion } from '../../../src/saml/saml11-assertion';
import { buildSaml2Assertion } from '../../../src/saml/saml2-assertion';
import { escapeText } from '../../../src/xml/escape';
import { signCanonicalElement } from '../../../src/xml/enveloped-signature';
import { NS, SAML2, TOKEN_TYPE, TRUST13 } from '../../../src/xml/namespaces';
import { recordLogs, recordPassword } from '../observed-traffic';
import { postToSts, type PostResult } from '../sts-post';
import { startTestSts, type TestSts, type TestStsOptions } from '../test-sts';
import { appliesTo, pathOf, trustRequest } from '../trust-messages';
import { attackReplayer, type ReplayAttack } from './replay-attack';
import { CERTIFICATE_MIXED_HEADERS, CERTIFICATE_MIXED_PATH, signedCertificateMessage, type MessageSigner, type SignedMessage, type SignedMessageOptions } from './signed-soap-message';

// The STS every WS-Trust attack suite replays against, with its cast: a victim, an attacker whose user
// name extends the victim's (what truncation attacks need), a service allowed to delegate, a partner
// IdP pinned for OnBehalfOf/ActAs, a client certificate pinned for certificatemixed, and a stranger
// (key and self-signed certificate) standing for the attacker's own signing key.

export const VICTIM = 'admin@corp.example';
export const ATTACKER = 'admin@corp.example.attacker.example';
export const SERVICE = 'svc@corp.example';
const PASSWORDS: Readonly<Record<string, string>> = {
  [VICTIM]: 'Victim-Attack-Suite-Secret-1',
  [ATTACKER]: 'Attacker-Attack-Suite-Secret-2',
  [SERVICE]: 'Service-Attack-Suite-Secret-3',
};
export const passwordOf = (user: string): string => PASSWORDS[user] as string;

export const RP = 'https://rp.attack.example/';
/** A relying party SERVICE may ask tokens for on behalf of others (OnBehalfOf, ActAs, Validate exchange). */
export const RP_DELEGATED = 'https://backend.attack.example/';
export const PARTNER_ISSUER = 'https://idp.partner.attack.example/';
export const EMAIL_CLAIM = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress';
/** The common name of the client certificate pinned for certificatemixed. */
export const CLIENT_CN = 'client.attack.example';

export type Operation = 'Issue' | 'Validate' | 'Renew' | 'Cancel';
export type Soap = '1.1' | '1.2';
export type Version = '1.3' | '2005';

export interface TrustCall {
  readonly op: Operation;
  /** The RST's children after RequestType. */
  readonly rstBody: string;
  readonly user?: string;
  readonly version?: Version;
  readonly soap?: Soap;
  /** A last edit of the whole envelope text (a decoy in the SOAP header, say). */
  readonly edit?: (envelope: string) => string;
}

export interface RawRequest {
  readonly path: string;
  readonly body: string | Buffer;
  readonly headers: Readonly<Record<string, string>>;
}

export interface AttackSts extends TestSts {
  /** The pinned partner IdP's signing key: tests mint external tokens with it. */
  readonly partnerKey: TestSigningKey;
  /** The attacker's own key and (untrusted, self-signed) certificate. */
  readonly strangerKey: TestSigningKey;
  /** The STS's own token-signing key, for forgeries made with it (Golden SAML) and for algorithm tests. */
  ownKey(): TestSigningKey;
  readonly clientSigner: MessageSigner;
  /** A token the STS issues to `user` (default ATTACKER) for `audience` (default RP), as the exact text sent. */
  issue(o?: { user?: string; audience?: string; tokenType?: 'saml2' | 'saml11'; version?: Version }): Promise<string>;
  /** One WS-Trust request over usernamemixed, as `user` (default ATTACKER). */
  send(call: TrustCall): Promise<PostResult>;
  /** The request `send` would post, for attacks on the document itself. */
  request(call: TrustCall): RawRequest;
  /** POSTs anything to a path of the server (chunked: without Content-Length). */
  post(path: string, request: Omit<RawRequest, 'path'> & { readonly chunked?: boolean }): Promise<PostResult>;
  /**
   * A token from the pinned partner IdP (signed with partnerKey) for `nameId`, addressed to this STS (its
   * issuer identifier) unless `audienceRestrictions` says otherwise.
   */
  partnerToken(nameId: string, o?: PartnerTokenOptions): string;
  /** A certificatemixed Issue signed by the pinned client (any option overridden). */
  signedMessage(o?: Partial<SignedMessageOptions>): SignedMessage;
  sendSigned(message: { readonly xml: string }): Promise<PostResult>;
  /** Replays an attack with the shared checks; the server must still issue over usernamemixed afterwards. */
  readonly attack: ReplayAttack;
  /** The same, the server must still issue over certificatemixed afterwards. */
  readonly attackCertificateMixed: ReplayAttack;
}

export async function startAttackSts(options: TestStsOptions = {}): Promise<AttackSts> {
  const partner = generateSelfSignedCertificate({ commonName: 'partner-idp-signing', validDays: 2 });
  const stranger = generateSelfSignedCertificate({ commonName: 'attacker-signing', validDays: 2 });
  const client = generateSelfSignedCertificate({ commonName: CLIENT_CN, validDays: 2 });
  const clientDer = new X509Certificate(client.certificatePem).raw;
  const sts = await startTestSts({
    ...options,
    // The lockout off: a wrong password is otherwise counted on its user's row (tested in
    // test/wstrust/password-lockout.test.ts), and every refused attack here must leave the store
    // exactly as it was, in whatever order the attacks run.
    config: { passwordLockout: { threshold: 0 }, ...options.config, clientCertificates: { pinnedThumbprints: [certificateThumbprintSha256(clientDer)] } },
  });
  recordLogs(sts.logs);
  recordPassword(...Object.values(PASSWORDS));
  for (const user of Object.keys(PASSWORDS)) await sts.addUser({ name: user, password: passwordOf(user), claims: [{ name: EMAIL_CLAIM, value: user }] });
  await sts.addRelyingParty({ appliesTo: RP, releasedClaims: [EMAIL_CLAIM] });
  await sts.addRelyingParty({ appliesTo: RP_DELEGATED, releasedClaims: [EMAIL_CLAIM], delegates: [SERVICE] });
  const partnerKey = testSigningKey(partner.privateKeyPem, partner.certificatePem);
  await sts.instance.store.trustedIssuers.pin({
    issuer: PARTNER_ISSUER,
    thumbprint: partnerKey.thumbprintSha256,
    certificatePem: partner.certificatePem,
    createdAt: new Date(),
    state: 'active',
    activateAt: null,
    retireAt: null,
    stateChangedAt: new Date(),
  });
  const ownKey = await stealActiveKey(sts.instance);
  const clientSigner: MessageSigner = { privateKey: createPrivateKey(client.privateKeyPem), certificateDer: clientDer };

  const request = (call: TrustCall): RawRequest => {
    const user = call.user ?? ATTACKER;
    const version = call.version ?? '1.3';
    const req = trustRequest({ version, soap: call.soap ?? '1.2', username: user, password: passwordOf(user), requestType: call.op, rstBody: call.rstBody });
    return { path: pathOf(version), headers: req.headers, body: call.edit ? call.edit(req.body) : req.body };
  };
  const post: AttackSts['post'] = (path, r) =>
    postToSts(`${sts.baseUrl}${path}`, { ca: sts.tlsCertificatePem, headers: { ...r.headers }, body: r.body, ...(r.chunked ? { chunked: true } : {}) });
  const send = (call: TrustCall): Promise<PostResult> => {
    const r = request(call);
    return post(r.path, r);
  };
  const issue: AttackSts['issue'] = async (o = {}) => {
    const tokenType = o.tokenType === 'saml11' ? `<t:TokenType>${TOKEN_TYPE.saml11}</t:TokenType>` : '';
    const res = await send({ op: 'Issue', user: o.user ?? ATTACKER, version: o.version ?? '1.3', rstBody: appliesTo(o.audience ?? RP) + tokenType });
    assert.equal(res.status, 200, `Issue failed: ${res.body.slice(0, 600)}`);
    return tokenText(res.body);
  };
  const signedMessage = (o: Partial<SignedMessageOptions> = {}): SignedMessage =>
    signedCertificateMessage({ signer: clientSigner, rstBody: `${appliesTo(RP)}<t:KeyType>${TRUST13.keyTypeBearer}</t:KeyType>`, ...o });
  const sendSigned = (message: { readonly xml: string }): Promise<PostResult> =>
    postToSts(`${sts.baseUrl}${CERTIFICATE_MIXED_PATH}`, { ca: sts.tlsCertificatePem, headers: { ...CERTIFICATE_MIXED_HEADERS }, body: message.xml });

  const stillIssuesOverUsernameMixed = async (): Promise<void> => {
    const res = await send({ op: 'Issue', rstBody: appliesTo(RP) });
    assert.equal(res.status, 200, `the server no longer issues: ${res.body.slice(0, 600)}`);
  };
  const stillIssuesOverCertificateMixed = async (): Promise<void> => {
    const res = await sendSigned(signedMessage());
    assert.equal(res.status, 200, `the server no longer issues over certificatemixed: ${res.body.slice(0, 600)}`);
  };

  return {
    ...sts,
    partnerKey,
    strangerKey: testSigningKey(stranger.privateKeyPem, stranger.certificatePem),
    ownKey: () => ownKey,
    clientSigner,
    issue,
    send,
    request,
    post,
    partnerToken: (nameId, o) => partnerToken(partnerKey, nameId, { audienceRestrictions: [[sts.instance.config.issuer]], ...o }),
    signedMessage,
    sendSigned,
    attack: attackReplayer(sts, stillIssuesOverUsernameMixed),
    attackCertificateMixed: attackReplayer(sts, stillIssuesOverCertificateMixed),
  };
}

/** The one SAML token (2.0 or 1.1) inside a response, cut out as the exact text sent. */
export function tokenText(responseBody: string): string {
  const m = /<(Assertion|saml:Assertion) [\s\S]*?<\/\1>/.exec(responseBody);
  assert.ok(m, `no SAML assertion in the response: ${responseBody.slice(0, 400)}`);
  return m[0];
}

export interface PartnerTokenOptions {
  readonly issuer?: string;
  readonly issueInstant?: Date;
  readonly notBefore?: Date;
  readonly notOnOrAfter?: Date;
  /** Leave Conditions out altogether (the token states no validity period). */
  readonly withoutConditions?: boolean;
  /** One list of Audiences per AudienceRestriction (SAML 1.1: AudienceRestrictionCondition); [] for none. */
  readonly audienceRestrictions?: readonly (readonly string[])[];
  /** SAML 2.0 by default. */
  readonly version?: '2.0' | '1.1';
}

/** A signed SAML token as the pinned partner IdP would issue it to the audiences given (valid for an hour by default). */
export function partnerToken(
  key: TestSigningKey,
  nameId: string,
  o: PartnerTokenOptions & { readonly audienceRestrictions: readonly (readonly string[])[] },
): string {
  const now = o.issueInstant ?? new Date();
  const end = o.notOnOrAfter ?? new Date(now.getTime() + 3600_000);
  const content = {
    id: `_${randomUUID()}`,
    issueInstant: now,
    issuer: o.issuer ?? PARTNER_ISSUER,
    nameId,
    nameIdFormat: SAML2.nameIdUnspecified,
    confirmationNotOnOrAfter: end,
    notBefore: o.notBefore ?? new Date(now.getTime() - 60_000),
    notOnOrAfter: end,
    audience: PLACEHOLDER_AUDIENCE,
    authnInstant: now,
    authnContextClassRef: SAML2.passwordProtectedTransport,
    attributes: [{ name: EMAIL_CLAIM, values: [nameId] }],
  };
  const element = o.version === '1.1' ? buildSaml11Assertion(content) : buildSaml2Assertion(content);
  const edit = (part: string): string => {
    const restricted = withAudienceRestrictions(part, o.version ?? '2.0', o.audienceRestrictions);
    return o.withoutConditions ? restricted.replace(/<(saml:)?Conditions [\s\S]*?<\/\1Conditions>/, '') : restricted;
  };
  const edited = { ...element, beforeSignature: edit(element.beforeSignature), afterSignature: edit(element.afterSignature) };
  assert.ok(!(edited.beforeSignature + edited.afterSignature).includes(PLACEHOLDER_AUDIENCE), 'the audience restrictions were put in');
  return signCanonicalElement(edited, key).xml;
}

// The builders write one restriction naming `audience`; the partner token swaps it for the restrictions asked for.
const PLACEHOLDER_AUDIENCE = 'urn:placeholder:audience';

/** Replaces the builder's single audience restriction (if `part` holds it) with one element per list, canonical as the rest. */
function withAudienceRestrictions(part: string, version: '2.0' | '1.1', restrictions: readonly (readonly string[])[]): string {
  const [open, close, audience] =
    version === '1.1'
      ? ['<saml:AudienceRestrictionCondition>', '</saml:AudienceRestrictionCondition>', (a: string) => `<saml:Audience>${escapeText(a)}</saml:Audience>`]
      : ['<AudienceRestriction>', '</AudienceRestriction>', (a: string) => `<Audience>${escapeText(a)}</Audience>`];
  const single = `${open}${audience(PLACEHOLDER_AUDIENCE)}${close}`;
  return part.replace(single, () => restrictions.map((audiences) => open + audiences.map(audience).join('') + close).join(''));
}

/** The ID of a token, from its root element. */
export { idOf } from '../xml-edit';

// The RST elements the suites put tokens in.
export const validateTarget = (token: string): string => `<t:ValidateTarget>${token}</t:ValidateTarget>`;
export const renewTarget = (token: string): string => `<t:RenewTarget>${token}</t:RenewTarget>`;
export const cancelTarget = (token: string): string => `<t:CancelTarget>${token}</t:CancelTarget>`;
export const onBehalfOf = (token: string): string => `<t:OnBehalfOf>${token}</t:OnBehalfOf>`;
export const actAs = (token: string): string => `<tr:ActAs xmlns:tr="${NS.wst14}">${token}</tr:ActAs>`;
export const tokenTypeElement = (uri: string): string => `<t:TokenType>${uri}</t:TokenType>`;
