import { randomUUID } from 'node:crypto';
import { escapeText } from '../src/xml/escape';
import { NS, TOKEN_TYPE, TRUST13, WSA_ANONYMOUS, WSSE_PASSWORD_TEXT } from '../src/xml/namespaces';

export const ISSUE_PATH = '/adfs/services/trust/13/usernamemixed';
export const SOAP12_CONTENT_TYPE = `application/soap+xml; charset=utf-8`;
/** Present in every successful WS-Trust 1.3 Issue reply, absent from faults. */
export const SUCCESS_MARKER = Buffer.from('RequestSecurityTokenResponseCollection');
/** Present in a Validate reply whose Status code is valid (the invalid code ends "/status/invalid<"). */
export const VALID_STATUS_MARKER = Buffer.from('/status/valid<');
/** Present in a successful Renew reply (an RSTR carrying a new assertion), absent from faults. */
export const RENEW_SUCCESS_MARKERS: readonly Buffer[] = [Buffer.from('RequestSecurityTokenResponse'), Buffer.from('<Assertion ')];

export interface IssueRequestInput {
  readonly to: string;
  readonly userName: string;
  readonly password: string;
  readonly appliesTo: string;
}

/** Who sends a request: the endpoint address and the UsernameToken (PasswordText) user. */
export type CallerInput = Omit<IssueRequestInput, 'appliesTo'>;

/**
 * A WS-Trust 1.3 Issue as ADAL/WCF send it to usernamemixed (SOAP 1.2, WS-Addressing 1.0,
 * UsernameToken with PasswordText). It carries no Timestamp, Nonce or Created, so one body built
 * up front stays valid for the whole run and the load generator only writes a Buffer.
 */
export function buildIssueRequest(input: IssueRequestInput): Buffer {
  return envelope(
    input,
    TRUST13.issueAction,
    `<trust:RequestSecurityToken xmlns:trust="${TRUST13.ns}">` +
      `<wsp:AppliesTo xmlns:wsp="${NS.wsp}"><a:EndpointReference><a:Address>${escapeText(input.appliesTo)}</a:Address></a:EndpointReference></wsp:AppliesTo>` +
      `<trust:KeyType>${TRUST13.keyTypeBearer}</trust:KeyType>` +
      `<trust:RequestType>${TRUST13.requestTypeIssue}</trust:RequestType>` +
      `<trust:TokenType>${TOKEN_TYPE.saml20}</trust:TokenType>` +
      `</trust:RequestSecurityToken>`,
  );
}

/**
 * A WS-Trust 1.3 Validate asking for a status only (TokenType RSTR/Status), with the assertion
 * inline in ValidateTarget exactly as the STS sent it (so its signature still verifies).
 */
export function buildValidateRequest(input: CallerInput, assertionXml: string): Buffer {
  return envelope(
    input,
    `${TRUST13.ns}/RST/Validate`,
    `<t:RequestSecurityToken xmlns:t="${TRUST13.ns}">` +
      `<t:RequestType>${TRUST13.requestTypeValidate}</t:RequestType>` +
      `<t:TokenType>${TRUST13.statusTokenType}</t:TokenType>` +
      `<t:ValidateTarget>${assertionXml}</t:ValidateTarget>` +
      `</t:RequestSecurityToken>`,
  );
}

/** A WS-Trust 1.3 Renew of an assertion the STS issued, inline in RenewTarget as the STS sent it. */
export function buildRenewRequest(input: CallerInput, assertionXml: string): Buffer {
  return envelope(
    input,
    `${TRUST13.ns}/RST/Renew`,
    `<t:RequestSecurityToken xmlns:t="${TRUST13.ns}">` +
      `<t:RequestType>${TRUST13.requestTypeRenew}</t:RequestType>` +
      `<t:RenewTarget>${assertionXml}</t:RenewTarget>` +
      `</t:RequestSecurityToken>`,
  );
}

/**
 * The SAML assertion of an Issue reply, cut out exactly as sent (from `<Assertion ` to the last
 * `</Assertion>`): re-serialising it could change bytes that its signature covers.
 */
export function cutAssertion(issueReply: string): string {
  const start = issueReply.indexOf('<Assertion ');
  const closing = '</Assertion>';
  const end = issueReply.lastIndexOf(closing);
  if (start < 0 || end < start) {
    throw new Error(`the Issue reply holds no <Assertion ...>...</Assertion>: ${issueReply.slice(0, 300)}`);
  }
  return issueReply.slice(start, end + closing.length);
}

function envelope(input: CallerInput, action: string, body: string): Buffer {
  const xml =
    `<s:Envelope xmlns:s="${NS.soap12}" xmlns:a="${NS.wsa10}">` +
    `<s:Header>` +
    `<a:Action s:mustUnderstand="1">${action}</a:Action>` +
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
    body +
    `</s:Body>` +
    `</s:Envelope>`;
  return Buffer.from(xml, 'utf8');
}
