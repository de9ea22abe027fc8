import type { IssuedToken } from '../core/token-service';
import { escapeText } from '../xml/escape';
import { NS, SAML11_ASSERTION_ID_VALUE_TYPE, SAML2_SAMLID_VALUE_TYPE, TOKEN_TYPE } from '../xml/namespaces';
import { trustUris, type TrustVersion } from './trust-version';

/**
 * A RequestSecurityTokenResponse carrying a token, in AD FS's element order. WS-Trust 1.3 wraps
 * Issue's final response in a RequestSecurityTokenResponseCollection; Renew and every February 2005
 * response travel as a bare RSTR.
 */
export function buildIssueResponse(
  version: TrustVersion,
  token: IssuedToken,
  keyTypeUri: string,
  requestTypeUri: string,
  wrapping: 'collection' | 'bare',
  extra = '',
): string {
  const uris = trustUris(version);
  const reference = tokenReference(token);
  const content =
    `<t:Lifetime><wsu:Created xmlns:wsu="${NS.wsu}">${token.created.toISOString()}</wsu:Created>` +
    `<wsu:Expires xmlns:wsu="${NS.wsu}">${token.expires.toISOString()}</wsu:Expires></t:Lifetime>` +
    `<wsp:AppliesTo xmlns:wsp="${NS.wsp}"><wsa:EndpointReference xmlns:wsa="${NS.wsa10}">` +
    `<wsa:Address>${escapeText(token.appliesTo)}</wsa:Address></wsa:EndpointReference></wsp:AppliesTo>` +
    `<t:RequestedSecurityToken>${token.xml}</t:RequestedSecurityToken>` +
    `<t:RequestedAttachedReference>${reference}</t:RequestedAttachedReference>` +
    `<t:RequestedUnattachedReference>${reference}</t:RequestedUnattachedReference>` +
    `<t:TokenType>${token.tokenTypeUri}</t:TokenType>` +
    `<t:RequestType>${requestTypeUri}</t:RequestType>` +
    `<t:KeyType>${keyTypeUri}</t:KeyType>` +
    extra;
  if (version === '1.3' && wrapping === 'collection') {
    return (
      `<t:RequestSecurityTokenResponseCollection xmlns:t="${uris.ns}">` +
      `<t:RequestSecurityTokenResponse>${content}</t:RequestSecurityTokenResponse>` +
      `</t:RequestSecurityTokenResponseCollection>`
    );
  }
  return `<t:RequestSecurityTokenResponse xmlns:t="${uris.ns}">${content}</t:RequestSecurityTokenResponse>`;
}

/** Validate's answer: TokenType Status and a Status with code and reason (plus a new token when transforming). */
export function buildStatusResponse(version: TrustVersion, valid: boolean, reason: string, transformed = ''): string {
  const uris = trustUris(version);
  return (
    `<t:RequestSecurityTokenResponse xmlns:t="${uris.ns}">` +
    `<t:TokenType>${uris.statusTokenType}</t:TokenType>` +
    `<t:Status><t:Code>${valid ? uris.statusValid : uris.statusInvalid}</t:Code>` +
    `<t:Reason>${escapeText(reason)}</t:Reason></t:Status>${transformed}` +
    `</t:RequestSecurityTokenResponse>`
  );
}

export function buildCancelResponse(version: TrustVersion): string {
  return `<t:RequestSecurityTokenResponse xmlns:t="${trustUris(version).ns}"><t:RequestedTokenCancelled></t:RequestedTokenCancelled></t:RequestSecurityTokenResponse>`;
}

const REFERENCE_TYPES = {
  saml2: { tokenType: TOKEN_TYPE.saml20Profile, valueType: SAML2_SAMLID_VALUE_TYPE },
  saml11: { tokenType: TOKEN_TYPE.saml11Profile, valueType: SAML11_ASSERTION_ID_VALUE_TYPE },
};

/** A SecurityTokenReference to an assertion by its ID (SAML token profile 1.1, sections 3.4.1 and 3.4.2). */
function tokenReference(token: IssuedToken): string {
  const types = REFERENCE_TYPES[token.tokenType];
  return (
    `<o:SecurityTokenReference xmlns:o="${NS.wsse}" xmlns:k="${NS.wsse11}" k:TokenType="${types.tokenType}">` +
    `<o:KeyIdentifier ValueType="${types.valueType}">${token.id}</o:KeyIdentifier>` +
    `</o:SecurityTokenReference>`
  );
}
