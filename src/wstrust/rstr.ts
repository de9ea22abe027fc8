import type { IssuedToken } from '../core/token-service';
import { escapeText } from '../xml/escape';
import { NS, SAML2_SAMLID_VALUE_TYPE, TOKEN_TYPE } from '../xml/namespaces';
import { trustUris, type TrustVersion } from './trust-version';

/**
 * The RequestSecurityTokenResponse for an issued token, in AD FS's element order; WS-Trust 1.3
 * wraps it in a RequestSecurityTokenResponseCollection, February 2005 sends it alone.
 */
export function buildIssueResponse(
  version: TrustVersion,
  token: IssuedToken,
  keyTypeUri: string,
): string {
  const uris = trustUris(version);
  const reference = tokenReference(token);
  // February 2005 sends the response alone, so it declares the namespace itself.
  const declaration = version === '2005' ? ` xmlns:t="${uris.ns}"` : '';
  const rstr =
    `<t:RequestSecurityTokenResponse${declaration}>` +
    `<t:Lifetime><wsu:Created xmlns:wsu="${NS.wsu}">${token.created.toISOString()}</wsu:Created>` +
    `<wsu:Expires xmlns:wsu="${NS.wsu}">${token.expires.toISOString()}</wsu:Expires></t:Lifetime>` +
    `<wsp:AppliesTo xmlns:wsp="${NS.wsp}"><wsa:EndpointReference xmlns:wsa="${NS.wsa10}">` +
    `<wsa:Address>${escapeText(token.appliesTo)}</wsa:Address></wsa:EndpointReference></wsp:AppliesTo>` +
    `<t:RequestedSecurityToken>${token.xml}</t:RequestedSecurityToken>` +
    `<t:RequestedAttachedReference>${reference}</t:RequestedAttachedReference>` +
    `<t:RequestedUnattachedReference>${reference}</t:RequestedUnattachedReference>` +
    `<t:TokenType>${token.tokenTypeUri}</t:TokenType>` +
    `<t:RequestType>${uris.requestTypeIssue}</t:RequestType>` +
    `<t:KeyType>${keyTypeUri}</t:KeyType>` +
    `</t:RequestSecurityTokenResponse>`;
  if (version === '2005') return rstr;
  return `<t:RequestSecurityTokenResponseCollection xmlns:t="${uris.ns}">${rstr}</t:RequestSecurityTokenResponseCollection>`;
}

/** A SecurityTokenReference to a SAML 2.0 assertion by its ID (SAML token profile 1.1, section 3.4.2). */
function tokenReference(token: IssuedToken): string {
  return (
    `<o:SecurityTokenReference xmlns:o="${NS.wsse}" xmlns:k="${NS.wsse11}" k:TokenType="${TOKEN_TYPE.saml20Profile}">` +
    `<o:KeyIdentifier ValueType="${SAML2_SAMLID_VALUE_TYPE}">${token.id}</o:KeyIdentifier>` +
    `</o:SecurityTokenReference>`
  );
}
