import { NS, TRUST13, TRUST2005, WSSE_PASSWORD_TEXT } from '../../src/xml/namespaces';
import { escapeText } from '../../src/xml/escape';

export type Version = '1.3' | '2005';
export type Soap = '1.1' | '1.2';

export interface MessageOptions {
  readonly version: Version;
  readonly soap?: Soap;
  readonly username: string;
  readonly password: string;
  /** The RST's children after RequestType. */
  readonly rstBody: string;
  readonly requestType: 'Issue' | 'Validate' | 'Renew' | 'Cancel';
  readonly messageId?: string;
}

export const trustNs = (v: Version): string => (v === '1.3' ? TRUST13.ns : TRUST2005.ns);
export const pathOf = (v: Version): string =>
  v === '1.3' ? '/adfs/services/trust/13/usernamemixed' : '/adfs/services/trust/2005/usernamemixed';

/** A complete WS-Trust request envelope with a fresh Timestamp and a PasswordText UsernameToken. */
export function trustRequest(o: MessageOptions): { body: string; headers: Record<string, string> } {
  const soap = o.soap ?? '1.2';
  const s = soap === '1.2' ? NS.soap12 : NS.soap11;
  const t = trustNs(o.version);
  const action = `${t}/RST/${o.requestType}`;
  const now = new Date();
  const body =
    `<s:Envelope xmlns:s="${s}" xmlns:a="${NS.wsa10}" xmlns:u="${NS.wsu}"><s:Header>` +
    `<a:Action s:mustUnderstand="1">${action}</a:Action><a:MessageID>${o.messageId ?? 'urn:uuid:' + crypto.randomUUID()}</a:MessageID>` +
    `<o:Security s:mustUnderstand="1" xmlns:o="${NS.wsse}"><u:Timestamp u:Id="_0"><u:Created>${now.toISOString()}</u:Created>` +
    `<u:Expires>${new Date(now.getTime() + 300_000).toISOString()}</u:Expires></u:Timestamp>` +
    `<o:UsernameToken u:Id="uuid-1"><o:Username>${escapeText(o.username)}</o:Username>` +
    `<o:Password Type="${WSSE_PASSWORD_TEXT}">${escapeText(o.password)}</o:Password></o:UsernameToken></o:Security>` +
    `</s:Header><s:Body><t:RequestSecurityToken xmlns:t="${t}"><t:RequestType>${t}/${o.requestType}</t:RequestType>${o.rstBody}</t:RequestSecurityToken></s:Body></s:Envelope>`;
  const headers: Record<string, string> =
    soap === '1.2'
      ? { 'Content-Type': 'application/soap+xml; charset=utf-8' }
      : { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: `"${action}"` };
  return { body, headers };
}

export const appliesTo = (address: string): string =>
  `<wsp:AppliesTo xmlns:wsp="${NS.wsp}"><wsa:EndpointReference xmlns:wsa="${NS.wsa10}"><wsa:Address>${escapeText(address)}</wsa:Address></wsa:EndpointReference></wsp:AppliesTo>`;

/** The first SAML 2.0 Assertion in a response, cut out as the exact text the server sent. */
export function assertionText(responseBody: string): string {
  const start = responseBody.indexOf('<Assertion ');
  const end = responseBody.indexOf('</Assertion>', start);
  if (start === -1 || end === -1) throw new Error('no SAML 2.0 assertion in the response');
  return responseBody.slice(start, end + '</Assertion>'.length);
}

export const samlIdReference = (id: string): string =>
  `<o:SecurityTokenReference xmlns:o="${NS.wsse}"><o:KeyIdentifier ValueType="http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLID">${id}</o:KeyIdentifier></o:SecurityTokenReference>`;
