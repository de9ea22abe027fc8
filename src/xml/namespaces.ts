// Every namespace URI and protocol URI the STS speaks, in one place.

export const NS = {
  soap11: 'http://schemas.xmlsoap.org/soap/envelope/',
  soap12: 'http://www.w3.org/2003/05/soap-envelope',
  wsa10: 'http://www.w3.org/2005/08/addressing',
  wsa200408: 'http://schemas.xmlsoap.org/ws/2004/08/addressing',
  wsse: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd',
  wsse11: 'http://docs.oasis-open.org/wss/oasis-wss-wssecurity-secext-1.1.xsd',
  wsu: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd',
  wst13: 'http://docs.oasis-open.org/ws-sx/ws-trust/200512',
  wst2005: 'http://schemas.xmlsoap.org/ws/2005/02/trust',
  /** WS-Trust 1.4, where ActAs is defined; WCF and CXF send it inside 1.3 requests. */
  wst14: 'http://docs.oasis-open.org/ws-sx/ws-trust/200802',
  wsp: 'http://schemas.xmlsoap.org/ws/2004/09/policy',
  wsp15: 'http://www.w3.org/ns/ws-policy',
  ds: 'http://www.w3.org/2000/09/xmldsig#',
  xenc: 'http://www.w3.org/2001/04/xmlenc#',
  saml2: 'urn:oasis:names:tc:SAML:2.0:assertion',
  saml1: 'urn:oasis:names:tc:SAML:1.0:assertion',
  samlp2: 'urn:oasis:names:tc:SAML:2.0:protocol',
  md: 'urn:oasis:names:tc:SAML:2.0:metadata',
  fed: 'http://docs.oasis-open.org/wsfed/federation/200706',
  xsi: 'http://www.w3.org/2001/XMLSchema-instance',
  xml: 'http://www.w3.org/XML/1998/namespace',
  /** Namespace declarations' own namespace, and XHTML's (which xmldom parses by HTML rules). */
  xmlns: 'http://www.w3.org/2000/xmlns/',
  xhtml: 'http://www.w3.org/1999/xhtml',
} as const;

export const WSA_ANONYMOUS = 'http://www.w3.org/2005/08/addressing/anonymous';
export const WSA_FAULT_ACTION = 'http://www.w3.org/2005/08/addressing/soap/fault';

export const WSSE_PASSWORD_TEXT =
  'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText';
export const WSSE_PASSWORD_DIGEST =
  'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest';
export const WSSE_BASE64_BINARY =
  'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary';

/** The URIs that differ between WS-Trust 1.3 and WS-Trust February 2005. */
export interface TrustVersionUris {
  readonly ns: string;
  readonly issueAction: string;
  readonly issueResponseAction: string;
  /** The final-response actions of Validate, Renew and Cancel. */
  readonly validateResponseAction: string;
  readonly renewResponseAction: string;
  readonly cancelResponseAction: string;
  /** Validate's TokenType for a status-only answer, and its two status codes. */
  readonly statusTokenType: string;
  readonly statusValid: string;
  readonly statusInvalid: string;
  readonly requestTypeIssue: string;
  readonly requestTypeValidate: string;
  readonly requestTypeRenew: string;
  readonly requestTypeCancel: string;
  readonly keyTypeBearer: string;
  readonly keyTypeSymmetric: string;
  readonly keyTypePublic: string;
}

export const TRUST13: TrustVersionUris = {
  ns: NS.wst13,
  issueAction: 'http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Issue',
  issueResponseAction: 'http://docs.oasis-open.org/ws-sx/ws-trust/200512/RSTRC/IssueFinal',
  validateResponseAction: 'http://docs.oasis-open.org/ws-sx/ws-trust/200512/RSTR/ValidateFinal',
  renewResponseAction: 'http://docs.oasis-open.org/ws-sx/ws-trust/200512/RSTR/RenewFinal',
  cancelResponseAction: 'http://docs.oasis-open.org/ws-sx/ws-trust/200512/RSTR/CancelFinal',
  statusTokenType: 'http://docs.oasis-open.org/ws-sx/ws-trust/200512/RSTR/Status',
  statusValid: 'http://docs.oasis-open.org/ws-sx/ws-trust/200512/status/valid',
  statusInvalid: 'http://docs.oasis-open.org/ws-sx/ws-trust/200512/status/invalid',
  requestTypeIssue: 'http://docs.oasis-open.org/ws-sx/ws-trust/200512/Issue',
  requestTypeValidate: 'http://docs.oasis-open.org/ws-sx/ws-trust/200512/Validate',
  requestTypeRenew: 'http://docs.oasis-open.org/ws-sx/ws-trust/200512/Renew',
  requestTypeCancel: 'http://docs.oasis-open.org/ws-sx/ws-trust/200512/Cancel',
  keyTypeBearer: 'http://docs.oasis-open.org/ws-sx/ws-trust/200512/Bearer',
  keyTypeSymmetric: 'http://docs.oasis-open.org/ws-sx/ws-trust/200512/SymmetricKey',
  keyTypePublic: 'http://docs.oasis-open.org/ws-sx/ws-trust/200512/PublicKey',
};

export const TRUST2005: TrustVersionUris = {
  ns: NS.wst2005,
  issueAction: 'http://schemas.xmlsoap.org/ws/2005/02/trust/RST/Issue',
  issueResponseAction: 'http://schemas.xmlsoap.org/ws/2005/02/trust/RSTR/Issue',
  validateResponseAction: 'http://schemas.xmlsoap.org/ws/2005/02/trust/RSTR/Validate',
  renewResponseAction: 'http://schemas.xmlsoap.org/ws/2005/02/trust/RSTR/Renew',
  cancelResponseAction: 'http://schemas.xmlsoap.org/ws/2005/02/trust/RSTR/Cancel',
  statusTokenType: 'http://schemas.xmlsoap.org/ws/2005/02/trust/RSTR/Status',
  statusValid: 'http://schemas.xmlsoap.org/ws/2005/02/trust/status/valid',
  statusInvalid: 'http://schemas.xmlsoap.org/ws/2005/02/trust/status/invalid',
  requestTypeIssue: 'http://schemas.xmlsoap.org/ws/2005/02/trust/Issue',
  requestTypeValidate: 'http://schemas.xmlsoap.org/ws/2005/02/trust/Validate',
  requestTypeRenew: 'http://schemas.xmlsoap.org/ws/2005/02/trust/Renew',
  requestTypeCancel: 'http://schemas.xmlsoap.org/ws/2005/02/trust/Cancel',
  // February 2005 clients (ADAL, WIF) name "bearer" with the identity namespace's NoProofKey.
  keyTypeBearer: 'http://schemas.xmlsoap.org/ws/2005/05/identity/NoProofKey',
  keyTypeSymmetric: 'http://schemas.xmlsoap.org/ws/2005/02/trust/SymmetricKey',
  keyTypePublic: 'http://schemas.xmlsoap.org/ws/2005/02/trust/PublicKey',
};

export const TOKEN_TYPE = {
  saml20: 'urn:oasis:names:tc:SAML:2.0:assertion',
  saml20Profile: 'http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV2.0',
  saml11: 'urn:oasis:names:tc:SAML:1.0:assertion',
  saml11Profile: 'http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV1.1',
} as const;

export const SAML2_SAMLID_VALUE_TYPE = 'http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLID';
export const SAML11_ASSERTION_ID_VALUE_TYPE =
  'http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.0#SAMLAssertionID';

export const ALG = {
  rsaSha256: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  rsaSha1: 'http://www.w3.org/2000/09/xmldsig#rsa-sha1',
  sha256: 'http://www.w3.org/2001/04/xmlenc#sha256',
  sha1: 'http://www.w3.org/2000/09/xmldsig#sha1',
  excC14n: 'http://www.w3.org/2001/10/xml-exc-c14n#',
  envelopedSignature: 'http://www.w3.org/2000/09/xmldsig#enveloped-signature',
} as const;

export const SAML2 = {
  bearer: 'urn:oasis:names:tc:SAML:2.0:cm:bearer',
  holderOfKey: 'urn:oasis:names:tc:SAML:2.0:cm:holder-of-key',
  passwordProtectedTransport: 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport',
  nameIdUnspecified: 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
  nameIdEmail: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
  nameIdPersistent: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
  attrNameFormatUri: 'urn:oasis:names:tc:SAML:2.0:attrname-format:uri',
} as const;
