import { randomUUID } from 'node:crypto';
import { escapeText } from '../src/xml/escape';
import { NS, TOKEN_TYPE, TRUST13, WSA_ANONYMOUS, WSSE_PASSWORD_TEXT } from '../src/xml/namespaces';

export const ISSUE_PATH = '/adfs/services/trust/13/usernamemixed';
export const SOAP12_CONTENT_TYPE = `application/soap+xml; charset=utf-8`;
/** Present in every successful WS-Trust 1.3 Issue reply, absent from faults. */
export const SUCCESS_MARKER = Buffer.from('RequestSecurityTokenResponseCollection');

export interface IssueRequestInput {
  readonly to: string;
  readonly userName: string;
  readonly password: string;
  readonly appliesTo: string;
}

/**
 * A WS-Trust 1.3 Issue as ADAL/WCF send it to usernamemixed (SOAP 1.2, WS-Addressing 1.0,
 * UsernameToken with PasswordText). It carries no Timestamp, Nonce or Created, so one body built
 * up front stays valid for the whole run and the load generator only writes a Buffer.
 */
export function buildIssueRequest(input: IssueRequestInput): Buffer {
  const xml =
    `<s:Envelope xmlns:s="${NS.soap12}" xmlns:a="${NS.wsa10}">` +
    `<s:Header>` +
    `<a:Action s:mustUnderstand="1">${TRUST13.issueAction}</a:Action>` +
    `<a:MessageID>urn:uuid:${randomUUID()}</a:MessageID>` +
    `<a:ReplyTo><a:Address>${WSA_ANONYMOUS}</a:Address></a:ReplyTo>` +
    `<a:To s:mustUnderstand="1">${escapeText(input.to)}</a:To>` +
    `<o:Security s:mustUnderstand="1" xmlns:o="${NS.wsse}">` +
    `<o:UsernameToken>` +
    `<o:Username>${escapeText(input.userName)}</o:Username>` +
    `<o:Password Type="${WSSE_PASSWORD_TEXT}">${escapeText(input.password)}</o:Password>` +
    `</o:UsernameToken>` +
    `</o:Security>` +
    `</s:Header>` +
    `<s:Body>` +
    `<trust:RequestSecurityToken xmlns:trust="${TRUST13.ns}">` +
    `<wsp:AppliesTo xmlns:wsp="${NS.wsp}"><a:EndpointReference><a:Address>${escapeText(input.appliesTo)}</a:Address></a:EndpointReference></wsp:AppliesTo>` +
    `<trust:KeyType>${TRUST13.keyTypeBearer}</trust:KeyType>` +
    `<trust:RequestType>${TRUST13.requestTypeIssue}</trust:RequestType>` +
    `<trust:TokenType>${TOKEN_TYPE.saml20}</trust:TokenType>` +
    `</trust:RequestSecurityToken>` +
    `</s:Body>` +
    `</s:Envelope>`;
  return Buffer.from(xml, 'utf8');
}
