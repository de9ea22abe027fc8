import { testSigningKey, type TestSigningKey } from './stolen-key';
import { strict as assert } from 'node:assert';
import { createHash, randomUUID } from 'node:crypto';
import { addAwsRole, addSamlProvider } from '../../src/aws/aws-admin';
import { roleArn, samlProviderArn } from '../../src/aws/arn';
import { awsRoleClaim } from '../../src/aws/role-claim';
import { AWS_SAML } from '../../src/core/aws-saml';
import { generateSelfSignedCertificate } from '../../src/keys/certificates';
import type { SigningKey } from '../../src/keys/signing-key';
import type { SamlAttribute } from '../../src/saml/assertion-content';
import { buildSaml2Assertion } from '../../src/saml/saml2-assertion';
import type { SamlReplayMode } from '../../src/store/store';
import { signCanonicalElement, type CanonicalElement } from '../../src/xml/enveloped-signature';
import { STACK_TRACE } from './ext-trust';
import { SAML2 } from '../../src/xml/namespaces';
import { postToSts, type PostResult } from './sts-post';
import { startTestSts, type LogRecord, type TestSts } from './test-sts';
import { appliesTo, assertionText, trustRequest } from './trust-messages';
import { replaceOnce } from './xml-edit';

export const ACCOUNT = '123456789012';
export const USER = 'alice@example.com';
export const PASSWORD = 'aws-test-password-7';
export const ROLE = 'Developers';
export const OTHER_ROLE = 'Auditors';
export const SELF_PROVIDER = 'trustbridge';
export const EXTERNAL_PROVIDER = 'PartnerIdP';
export const EXTERNAL_ISSUER = 'https://idp.partner.example/saml';
export const ROLE_ARN = roleArn(ACCOUNT, ROLE);
export const OTHER_ROLE_ARN = roleArn(ACCOUNT, OTHER_ROLE);
export const SELF_PROVIDER_ARN = samlProviderArn(ACCOUNT, SELF_PROVIDER);
export const EXTERNAL_PROVIDER_ARN = samlProviderArn(ACCOUNT, EXTERNAL_PROVIDER);

/** What the IAM console writes for SAML federation, for both providers, with the audience condition. */
export const ROLE_TRUST_POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Principal: { Federated: [SELF_PROVIDER_ARN, EXTERNAL_PROVIDER_ARN] },
      Action: ['sts:AssumeRoleWithSAML', 'sts:TagSession', 'sts:SetSourceIdentity'],
      Condition: { StringEquals: { 'SAML:aud': AWS_SAML.signinUrl } },
    },
  ],
});

/** A Trustbridge serving the AWS API, with a user granted two roles and an external IdP whose key the test holds. */
export interface AwsTestSts extends TestSts {
  /** The external identity provider's signing key: tests mint any assertion they like with it. */
  readonly externalKey: TestSigningKey;
  /** Asks the STS over WS-Trust for a token for AWS (urn:amazon:webservices); resolves to the assertion text. */
  issueAwsToken(user?: string, password?: string): Promise<string>;
  /** POSTs Query API parameters to `/`. */
  query(params: Record<string, string>, headers?: Record<string, string>): Promise<PostResult>;
}

export interface AwsTestStsOptions {
  readonly externalReplay?: SamlReplayMode;
  readonly config?: Record<string, unknown>;
  /** The server's clock (default: the system clock). */
  readonly now?: () => Date;
  /** The server's password check (default: the real one). */
  readonly verifyPassword?: (password: string, storedHash: string) => Promise<boolean>;
}

export async function startAwsTestSts(options: AwsTestStsOptions = {}): Promise<AwsTestSts> {
  const sts = await startTestSts({
    ...(options.config ? { config: options.config } : {}),
    ...(options.now ? { now: options.now } : {}),
    ...(options.verifyPassword ? { verifyPassword: options.verifyPassword } : {}),
  });
  const store = sts.instance.store;
  const aws = sts.instance.config.aws;
  await addAwsRole(store, ACCOUNT, { name: ROLE, trustPolicy: ROLE_TRUST_POLICY, maxSessionDurationSeconds: 7200 });
  await addAwsRole(store, ACCOUNT, {
    name: OTHER_ROLE,
    trustPolicy: JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { Federated: [SELF_PROVIDER_ARN, EXTERNAL_PROVIDER_ARN] }, Action: ['sts:AssumeRoleWithSAML', 'sts:TagSession'] },
      ],
    }),
  });
  await sts.addUser({ name: USER, password: PASSWORD, claims: [awsRoleClaim(aws, ROLE), awsRoleClaim(aws, OTHER_ROLE)] });

  const external = generateSelfSignedCertificate({ commonName: 'partner-idp-signing', validDays: 2 });
  await addSamlProvider(store, ACCOUNT, SELF_PROVIDER, {
    name: EXTERNAL_PROVIDER,
    metadataXml: idpMetadata(EXTERNAL_ISSUER, external.certificatePem),
    replay: options.externalReplay ?? 'once-per-role',
  });

  return {
    ...sts,
    externalKey: testSigningKey(external.privateKeyPem, external.certificatePem),
    async issueAwsToken(user = USER, password = PASSWORD) {
      const { body, headers } = trustRequest({
        version: '1.3',
        username: user,
        password,
        requestType: 'Issue',
        rstBody: appliesTo(AWS_SAML.appliesTo),
      });
      const reply = await postToSts(`${sts.baseUrl}/adfs/services/trust/13/usernamemixed`, { ca: sts.tlsCertificatePem, headers, body });
      if (reply.status !== 200) throw new Error(`Issue failed: ${reply.status} ${reply.body.slice(0, 400)}`);
      return assertionText(reply.body);
    },
    query(params, headers = {}) {
      return postToSts(`${sts.baseUrl}/`, {
        ca: sts.tlsCertificatePem,
        headers: { 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8', ...headers },
        body: new URLSearchParams({ Version: '2011-06-15', ...params }).toString(),
      });
    },
  };
}

export const b64 = (xml: string): string => Buffer.from(xml, 'utf8').toString('base64');

/** A minimal SAML 2.0 IdP metadata document naming one signing certificate. */
export function idpMetadata(entityId: string, certificatePem: string): string {
  const base64 = certificatePem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  return (
    `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="${entityId}">` +
    `<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">` +
    `<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${base64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>` +
    `<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="${entityId}/sso"/>` +
    `</md:IDPSSODescriptor></md:EntityDescriptor>`
  );
}

export interface MintOptions {
  readonly key: SigningKey;
  readonly issuer?: string;
  readonly id?: string;
  readonly nameId?: string;
  readonly nameIdFormat?: string;
  readonly issueInstant?: Date;
  readonly notOnOrAfter?: Date;
  readonly audience?: string;
  readonly recipient?: string;
  /** Role attribute values; default: both test roles paired with the external provider. */
  readonly roles?: readonly string[];
  readonly roleSessionName?: string | null;
  readonly extraAttributes?: readonly SamlAttribute[];
}

/** A signed SAML 2.0 assertion as an external IdP would send AWS (what the test chooses, signed for real). */
export function mintAssertion(o: MintOptions): { xml: string; id: string; digest: string } {
  return mintEditedAssertion(o, (unedited) => unedited);
}

/** The assertion wrapped in a samlp:Response, as a browser posts it to AWS sign-in (the Response unsigned). */
export function inResponse(assertionXml: string, issueInstant = new Date()): string {
  return (
    `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r${randomUUID()}" Version="2.0" ` +
    `IssueInstant="${issueInstant.toISOString()}" Destination="${AWS_SAML.signinUrl}">` +
    `<saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">${EXTERNAL_ISSUER}</saml:Issuer>` +
    `<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` +
    `${assertionXml}</samlp:Response>`
  );
}

/** The ErrorResponse's Code, Message and Type, read strictly. */
export function awsError(body: string): { code: string; message: string; type: string; requestId: string } {
  const field = (name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(body)?.[1] ?? '';
  if (!body.startsWith('<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">')) throw new Error(`not an ErrorResponse: ${body.slice(0, 200)}`);
  return { code: field('Code'), message: field('Message'), type: field('Type'), requestId: field('RequestId') };
}

// ---------------------------------------------------------------------------------------------
// Helpers for the rejection suites (added with them): assertions edited before signing, the
// AssumeRoleWithSAML call, and the exact checks of a refusal and of a success.

/** The assertion mintAssertion would sign, still in canonical form and unsigned, so a test can edit it first. */
export function canonicalAssertion(o: Omit<MintOptions, 'key'>): CanonicalElement {
  const now = o.issueInstant ?? new Date();
  const end = o.notOnOrAfter ?? new Date(now.getTime() + 5 * 60 * 1000);
  const roles = o.roles ?? [`${ROLE_ARN},${EXTERNAL_PROVIDER_ARN}`, `${EXTERNAL_PROVIDER_ARN},${OTHER_ROLE_ARN}`];
  const attributes: SamlAttribute[] = [
    { name: AWS_SAML.role, values: roles },
    ...(o.roleSessionName === null ? [] : [{ name: AWS_SAML.roleSessionName, values: [o.roleSessionName ?? 'alice'] }]),
    ...(o.extraAttributes ?? []),
  ];
  return buildSaml2Assertion({
    id: o.id ?? `_${randomUUID()}`,
    issueInstant: now,
    issuer: o.issuer ?? EXTERNAL_ISSUER,
    nameId: o.nameId ?? 'alice',
    nameIdFormat: o.nameIdFormat ?? SAML2.nameIdPersistent,
    confirmationNotOnOrAfter: end,
    recipient: o.recipient ?? AWS_SAML.signinUrl,
    notBefore: now,
    notOnOrAfter: end,
    audience: o.audience ?? AWS_SAML.signinUrl,
    authnInstant: now,
    authnContextClassRef: SAML2.passwordProtectedTransport,
    attributes,
  });
}

/** Like mintAssertion, with `edit` applied to the canonical text before it is signed (edits must keep it canonical). */
export function mintEditedAssertion(
  o: MintOptions,
  edit: (c: CanonicalElement) => CanonicalElement,
): { xml: string; id: string; digest: string } {
  const element = edit(canonicalAssertion(o));
  const signed = signCanonicalElement(element, o.key);
  return { xml: signed.xml, id: element.id, digest: signed.digest };
}

/** Replaces `from` by `to` in the canonical text after the signature slot; fails if `from` is not there once. */
export function editAfterSignature(from: string, to: string): (c: CanonicalElement) => CanonicalElement {
  return (c) => ({ ...c, afterSignature: replaceOnce(c.afterSignature, from, to) });
}

/** Base64 SHA-256 of a canonical element without its signature: its DigestValue. */
export const canonicalDigest = (c: CanonicalElement): string =>
  createHash('sha256').update(c.beforeSignature).update(c.afterSignature).digest('base64');

export interface ExchangeOptions {
  readonly roleArn?: string;
  readonly principalArn?: string;
  /** More Query parameters (DurationSeconds, Policy, …). */
  readonly extra?: Record<string, string>;
}

/** AssumeRoleWithSAML with this SAML document (base64-encoded here); by default for ROLE_ARN through the external provider. */
export function exchange(sts: AwsTestSts, samlXml: string, o: ExchangeOptions = {}): Promise<PostResult> {
  return sts.query({
    Action: 'AssumeRoleWithSAML',
    RoleArn: o.roleArn ?? ROLE_ARN,
    PrincipalArn: o.principalArn ?? EXTERNAL_PROVIDER_ARN,
    SAMLAssertion: b64(samlXml),
    ...o.extra,
  });
}

const unescapeXml = (text: string): string =>
  text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&#xD;/g, '\r').replace(/&amp;/g, '&');

export interface ExpectedRefusal {
  readonly status: number;
  readonly code: string;
  /** The whole message (a string) or a pattern it must match. */
  readonly message: string | RegExp;
}

/**
 * Checks a refusal exactly: HTTP status, an ErrorResponse with this Code, Type Sender (Receiver for
 * 5xx), the message, x-amzn-RequestId equal to the ErrorResponse's RequestId, no stack trace, no
 * credentials in the body, and a log record for that request saying it failed with this code and
 * that no access key was issued. Returns the message and the log record's fields.
 */
export function expectAwsRefusal(
  sts: { readonly logs: readonly LogRecord[] },
  res: PostResult,
  expected: ExpectedRefusal,
): { message: string; requestId: string; log: Record<string, unknown> } {
  assert.equal(res.status, expected.status, `expected ${expected.status} ${expected.code}, got ${res.status}: ${res.body.slice(0, 800)}`);
  const e = awsError(res.body);
  assert.equal(e.code, expected.code, `message: ${e.message}`);
  assert.equal(e.type, expected.status >= 500 ? 'Receiver' : 'Sender');
  const message = unescapeXml(e.message);
  if (typeof expected.message === 'string') assert.equal(message, expected.message);
  else assert.match(message, expected.message);
  assert.match(e.requestId, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  assert.equal(res.headers['x-amzn-requestid'], e.requestId, 'x-amzn-RequestId is the ErrorResponse RequestId');
  assert.match(String(res.headers['content-type']), /^text\/xml/);
  assert.doesNotMatch(res.body, STACK_TRACE, 'no stack trace in the answer');
  assert.doesNotMatch(res.body, /Credentials|AccessKeyId|SecretAccessKey|SessionToken|ASIA[A-Z2-7]{16}/, 'no credentials in a refusal');
  const record = sts.logs.find((r) => r.fields['requestId'] === e.requestId);
  assert.ok(record, `a log record for request ${e.requestId}`);
  assert.equal(record.msg, 'request failed');
  assert.equal(record.fields['error'], expected.code);
  assert.equal(record.fields['accessKeyId'], undefined, 'no access key was issued');
  return { message, requestId: e.requestId, log: record.fields };
}

export interface IssuedCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  readonly expiration: Date;
  readonly assumedRoleArn: string;
  readonly assumedRoleId: string;
  /** Every other leaf of the result (Subject, Issuer, PackedPolicySize, …) by element name. */
  readonly fields: Record<string, string>;
}

/** Checks an AssumeRoleWithSAML success (200, the result envelope, x-amzn-RequestId) and reads its credentials. */
export function expectCredentials(res: PostResult): IssuedCredentials {
  assert.equal(res.status, 200, `expected credentials, got ${res.status}: ${res.body.slice(0, 800)}`);
  assert.ok(res.body.startsWith('<AssumeRoleWithSAMLResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithSAMLResult>'), res.body.slice(0, 300));
  const requestId = /<RequestId>([^<]*)<\/RequestId>/.exec(res.body)?.[1];
  assert.equal(res.headers['x-amzn-requestid'], requestId);
  const fields: Record<string, string> = {};
  for (const m of res.body.matchAll(/<(\w+)>([^<]*)<\/\1>/g)) fields[m[1] as string] = unescapeXml(m[2] as string);
  const need = (name: string): string => {
    const v = fields[name];
    assert.ok(v !== undefined, `the result has ${name}`);
    return v;
  };
  return {
    accessKeyId: need('AccessKeyId'),
    secretAccessKey: need('SecretAccessKey'),
    sessionToken: need('SessionToken'),
    expiration: new Date(need('Expiration')),
    assumedRoleArn: need('Arn'),
    assumedRoleId: need('AssumedRoleId'),
    fields,
  };
}

/**
 * A samlp:Response written in canonical form around `innerCanonical` (an assertion in canonical form,
 * signed or not) and signed itself: enveloped, exclusive c14n, RSA-SHA256, referencing the Response ID.
 */
export function signedResponse(innerCanonical: string, key: SigningKey, issueInstant = new Date()): string {
  const id = `_r${randomUUID()}`;
  const protocolNs = 'urn:oasis:names:tc:SAML:2.0:protocol';
  return signCanonicalElement(
    {
      id,
      beforeSignature:
        `<samlp:Response xmlns:samlp="${protocolNs}" Destination="${AWS_SAML.signinUrl}" ID="${id}" IssueInstant="${issueInstant.toISOString()}" Version="2.0">` +
        `<saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">${EXTERNAL_ISSUER}</saml:Issuer>`,
      afterSignature:
        `<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"></samlp:StatusCode></samlp:Status>` +
        `${innerCanonical}</samlp:Response>`,
    },
    key,
  ).xml;
}
