import { randomUUID } from 'node:crypto';
import { createOptionalCallbackFunction, SignedXml, type SignatureAlgorithm } from 'xml-crypto';
import type { SigningKey } from '../keys/signing-key';
import { ALG, NS, SAML2, TOKEN_TYPE } from '../xml/namespaces';

// FederationMetadata.xml as AD FS publishes it at /FederationMetadata/2007-06/FederationMetadata.xml:
// a signed SAML 2.0 md:EntityDescriptor carrying a WS-Federation STS role and a SAML IdP role.
// Not on the hot path, so it is built as text and signed with xml-crypto.

/** WS-Federation authorization namespace, for auth:ClaimType (missing from src/xml/namespaces.ts). */
const NS_AUTH = 'http://docs.oasis-open.org/wsfed/authorization/200706';
const BINDING_HTTP_REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';
const BINDING_HTTP_POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';
const NAMEID_PERSISTENT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent';
const NAMEID_TRANSIENT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient';

export const FEDERATION_METADATA_PATHS = {
  securityTokenService: '/adfs/services/trust/13/usernamemixed',
  passiveRequestor: '/adfs/ls/',
  singleSignOn: '/adfs/ls/',
} as const;

export interface FederationMetadataOptions {
  /** The entityID relying parties know the STS by, e.g. http://sts.example.com/adfs/services/trust. */
  readonly entityId: string;
  /** Scheme, host and port the endpoints are reached at, e.g. https://sts.example.com. */
  readonly baseUrl: string;
  /** Every certificate to publish for signing: the active one and any pending or retiring ones. */
  readonly certificates: readonly Pick<SigningKey, 'certificateBase64'>[];
  /** The key that signs the metadata document itself. */
  readonly signWith: SigningKey;
  /** Claim type URIs to list in fed:ClaimTypesOffered. */
  readonly claimsOffered?: readonly string[];
}

/** Renders and signs the federation metadata document. */
export function renderFederationMetadata(opts: FederationMetadataOptions): string {
  if (opts.certificates.length === 0) {
    throw new Error('federation metadata needs at least one signing certificate to publish');
  }
  const baseUrl = opts.baseUrl.replace(/\/+$/, '');
  const id = `_${randomUUID()}`;
  const unsigned = entityDescriptor(id, opts, baseUrl);
  return signEntityDescriptor(unsigned, opts.signWith);
}

function entityDescriptor(id: string, opts: FederationMetadataOptions, baseUrl: string): string {
  return (
    `<EntityDescriptor xmlns="${NS.md}" ID="${id}" entityID="${escapeXmlAttribute(opts.entityId)}">` +
    securityTokenServiceRole(opts, baseUrl) +
    identityProviderRole(opts.certificates, baseUrl) +
    `</EntityDescriptor>`
  );
}

// The WS-Federation role: what WIF/WS-Fed relying parties read to find the STS and its keys.
function securityTokenServiceRole(opts: FederationMetadataOptions, baseUrl: string): string {
  return (
    `<RoleDescriptor xmlns:xsi="${NS.xsi}" xmlns:fed="${NS.fed}" xsi:type="fed:SecurityTokenServiceType"` +
    ` protocolSupportEnumeration="${NS.fed}">` +
    signingKeyDescriptors(opts.certificates) +
    `<fed:TokenTypesOffered>` +
    `<fed:TokenType Uri="${TOKEN_TYPE.saml20}"/>` +
    `<fed:TokenType Uri="${TOKEN_TYPE.saml11}"/>` +
    `</fed:TokenTypesOffered>` +
    claimTypesOffered(opts.claimsOffered ?? []) +
    `<fed:SecurityTokenServiceEndpoint>` +
    endpointReference(baseUrl + FEDERATION_METADATA_PATHS.securityTokenService) +
    `</fed:SecurityTokenServiceEndpoint>` +
    `<fed:PassiveRequestorEndpoint>` +
    endpointReference(baseUrl + FEDERATION_METADATA_PATHS.passiveRequestor) +
    `</fed:PassiveRequestorEndpoint>` +
    `</RoleDescriptor>`
  );
}

// The SAML 2.0 role. Element order follows the metadata schema: KeyDescriptor, NameIDFormat, SingleSignOnService.
function identityProviderRole(certificates: FederationMetadataOptions['certificates'], baseUrl: string): string {
  const sso = escapeXmlAttribute(baseUrl + FEDERATION_METADATA_PATHS.singleSignOn);
  return (
    `<IDPSSODescriptor protocolSupportEnumeration="${NS.samlp2}">` +
    signingKeyDescriptors(certificates) +
    `<NameIDFormat>${SAML2.nameIdEmail}</NameIDFormat>` +
    `<NameIDFormat>${NAMEID_PERSISTENT}</NameIDFormat>` +
    `<NameIDFormat>${NAMEID_TRANSIENT}</NameIDFormat>` +
    `<SingleSignOnService Binding="${BINDING_HTTP_REDIRECT}" Location="${sso}"/>` +
    `<SingleSignOnService Binding="${BINDING_HTTP_POST}" Location="${sso}"/>` +
    `</IDPSSODescriptor>`
  );
}

// One KeyDescriptor per certificate so relying parties trust pending and retiring keys during a rollover.
function signingKeyDescriptors(certificates: FederationMetadataOptions['certificates']): string {
  return certificates
    .map(
      (key) =>
        `<KeyDescriptor use="signing"><KeyInfo xmlns="${NS.ds}"><X509Data>` +
        `<X509Certificate>${key.certificateBase64}</X509Certificate>` +
        `</X509Data></KeyInfo></KeyDescriptor>`,
    )
    .join('');
}

function claimTypesOffered(claims: readonly string[]): string {
  if (claims.length === 0) {
    return '';
  }
  const items = claims
    .map((uri) => `<auth:ClaimType xmlns:auth="${NS_AUTH}" Uri="${escapeXmlAttribute(uri)}" Optional="true"/>`)
    .join('');
  return `<fed:ClaimTypesOffered>${items}</fed:ClaimTypesOffered>`;
}

function endpointReference(address: string): string {
  return (
    `<wsa:EndpointReference xmlns:wsa="${NS.wsa10}">` +
    `<wsa:Address>${escapeXmlText(address)}</wsa:Address>` +
    `</wsa:EndpointReference>`
  );
}

const NO_KEY_MATERIAL = Buffer.alloc(0);

/** xml-crypto's RSA-SHA256, with the signature computed by the SigningKey rather than from a private key it is handed. */
function rsaSha256By(key: SigningKey): new () => SignatureAlgorithm {
  return class implements SignatureAlgorithm {
    getSignature = createOptionalCallbackFunction((signedInfo: string | NodeJS.ArrayBufferView) => {
      const bytes = typeof signedInfo === 'string' ? Buffer.from(signedInfo) : Buffer.from(signedInfo.buffer, signedInfo.byteOffset, signedInfo.byteLength);
      return key.sign('sha256', bytes).toString('base64');
    });
    verifySignature = createOptionalCallbackFunction((): boolean => {
      throw new Error('this algorithm only signs');
    });
    getAlgorithmName = (): string => ALG.rsaSha256;
  };
}

// Enveloped, exclusive-c14n, RSA-SHA256 signature over the whole EntityDescriptor, placed as its
// first child because the metadata schema puts ds:Signature before every role descriptor.
function signEntityDescriptor(xml: string, key: SigningKey): string {
  const signer = new SignedXml({
    // xml-crypto insists on a private key, but the algorithm below never reads it: the SigningKey
    // signs, so a key held in a PKCS#11 token signs the metadata too.
    privateKey: NO_KEY_MATERIAL,
    publicCert: key.certificatePem,
    signatureAlgorithm: ALG.rsaSha256,
    canonicalizationAlgorithm: ALG.excC14n,
  });
  signer.SignatureAlgorithms = { [ALG.rsaSha256]: rsaSha256By(key) };
  signer.addReference({
    xpath: `/*[local-name()='EntityDescriptor' and namespace-uri()='${NS.md}']`,
    transforms: [ALG.envelopedSignature, ALG.excC14n],
    digestAlgorithm: ALG.sha256,
  });
  signer.computeSignature(xml, {
    prefix: 'ds',
    location: { reference: `/*[local-name()='EntityDescriptor']`, action: 'prepend' },
  });
  return signer.getSignedXml();
}

function escapeXmlText(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\r/g, '&#13;');
}

// Whitespace is escaped too: a parser normalises literal tabs and newlines in attributes to spaces,
// which would make a verifier see different bytes than we signed.
function escapeXmlAttribute(value: string): string {
  return escapeXmlText(value)
    .replace(/"/g, '&quot;')
    .replace(/\t/g, '&#9;')
    .replace(/\n/g, '&#10;')
    .replace(/\r/g, '&#13;');
}
