import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { NS, TOKEN_TYPE, TRUST13, TRUST2005, WSSE_BASE64_BINARY, WSSE_PASSWORD_DIGEST, WSSE_PASSWORD_TEXT } from '../../src/xml/namespaces';

// A small builder of WS-Trust RequestSecurityToken messages for tests: every part can be left out
// or replaced, so a test states only the one thing it changes.

export type SoapVersion = '1.1' | '1.2';
export type TrustVersion = '1.3' | '2005';

export const PATH_13 = '/adfs/services/trust/13/usernamemixed';
export const PATH_2005 = '/adfs/services/trust/2005/usernamemixed';
export const pathOf = (v: TrustVersion): string => (v === '1.3' ? PATH_13 : PATH_2005);
export const trustOf = (v: TrustVersion): typeof TRUST13 => (v === '1.3' ? TRUST13 : TRUST2005);
export const soapNsOf = (v: SoapVersion): string => (v === '1.2' ? NS.soap12 : NS.soap11);

export interface UsernameTokenSpec {
  readonly username: string;
  readonly password: string;
  /** 'text' (default), 'digest' (computed from nonce and created), or 'text-untyped' (no Type attribute, as ADAL). */
  readonly passwordType?: 'text' | 'digest' | 'text-untyped';
  readonly nonce?: Buffer;
  /** The UsernameToken's wsu:Created text; for digest, defaults to now. */
  readonly created?: string;
  /** Raw XML placed inside wsse:Password instead of the escaped password (for hostile-input tests). */
  readonly rawPasswordXml?: string;
}

export interface RstSpec {
  readonly soap?: SoapVersion;
  readonly trust?: TrustVersion;
  /** undefined: a fresh five-minute Timestamp; null: none. */
  readonly timestamp?: { readonly created: string; readonly expires?: string } | null;
  /** null: a Security header without UsernameToken. */
  readonly usernameToken?: UsernameTokenSpec | null;
  /** false: no wsse:Security header at all. */
  readonly security?: boolean;
  /** null: no AppliesTo. */
  readonly appliesTo?: string | null;
  readonly requestType?: string;
  /** null: no TokenType. */
  readonly tokenType?: string | null;
  /** undefined: the version's bearer key type; null: no KeyType. */
  readonly keyType?: string | null;
  readonly lifetime?: { readonly created?: string; readonly expires?: string };
  /** undefined: the version's Issue action; null: no wsa:Action. */
  readonly action?: string | null;
  /** The HTTP action (SOAPAction for 1.1, the Content-Type action parameter for 1.2); defaults to the wsa:Action. */
  readonly transportAction?: string | null;
  readonly messageId?: string;
  /** Raw XML appended to the SOAP Header. */
  readonly extraHeaderXml?: string;
  /** Overrides the Content-Type entirely. */
  readonly contentType?: string;
}

export interface BuiltRequest {
  readonly path: string;
  readonly body: string;
  readonly headers: Record<string, string>;
  readonly messageId: string;
}

export const xmlEscape = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Base64(SHA-1(nonce bytes + Created text + password)): the UsernameToken profile's PasswordDigest. */
export function passwordDigest(nonce: Buffer, created: string, password: string): string {
  return createHash('sha1').update(nonce).update(created, 'utf8').update(password, 'utf8').digest('base64');
}

/** An xsd:dateTime in UTC without milliseconds, offset from now by `offsetMs`. */
export function isoSeconds(offsetMs = 0, from: Date = new Date()): string {
  return new Date(from.getTime() + offsetMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function usernameTokenXml(ut: UsernameTokenSpec): string {
  const type = ut.passwordType ?? 'text';
  let password: string;
  let extra = '';
  if (type === 'digest') {
    const nonce = ut.nonce ?? randomBytes(16);
    const created = ut.created ?? isoSeconds();
    password = `<wsse:Password Type="${WSSE_PASSWORD_DIGEST}">${passwordDigest(nonce, created, ut.password)}</wsse:Password>`;
    extra =
      `<wsse:Nonce EncodingType="${WSSE_BASE64_BINARY}">${nonce.toString('base64')}</wsse:Nonce>` +
      `<wsu:Created xmlns:wsu="${NS.wsu}">${created}</wsu:Created>`;
  } else {
    const typeAttr = type === 'text-untyped' ? '' : ` Type="${WSSE_PASSWORD_TEXT}"`;
    password = `<wsse:Password${typeAttr}>${ut.rawPasswordXml ?? xmlEscape(ut.password)}</wsse:Password>`;
    if (ut.nonce) extra += `<wsse:Nonce EncodingType="${WSSE_BASE64_BINARY}">${ut.nonce.toString('base64')}</wsse:Nonce>`;
    if (ut.created !== undefined) extra += `<wsu:Created xmlns:wsu="${NS.wsu}">${ut.created}</wsu:Created>`;
  }
  return `<wsse:UsernameToken><wsse:Username>${xmlEscape(ut.username)}</wsse:Username>${password}${extra}</wsse:UsernameToken>`;
}

export function buildRst(spec: RstSpec): BuiltRequest {
  const soap = spec.soap ?? '1.2';
  const trust = spec.trust ?? '1.3';
  const uris = trustOf(trust);
  const s = soapNsOf(soap);
  const messageId = spec.messageId ?? `urn:uuid:${randomUUID()}`;
  const action = spec.action === undefined ? uris.issueAction : spec.action;
  const transportAction = spec.transportAction === undefined ? action : spec.transportAction;

  const timestamp =
    spec.timestamp === null
      ? ''
      : (() => {
          const ts = spec.timestamp ?? { created: isoSeconds(), expires: isoSeconds(5 * 60 * 1000) };
          const expires = ts.expires === undefined ? '' : `<wsu:Expires>${ts.expires}</wsu:Expires>`;
          return `<wsu:Timestamp wsu:Id="_0"><wsu:Created>${ts.created}</wsu:Created>${expires}</wsu:Timestamp>`;
        })();
  const ut = spec.usernameToken === null || spec.usernameToken === undefined ? '' : usernameTokenXml(spec.usernameToken);
  const security =
    spec.security === false
      ? ''
      : `<wsse:Security s:mustUnderstand="1" xmlns:wsse="${NS.wsse}">${timestamp}${ut}</wsse:Security>`;
  const header =
    `<s:Header>` +
    (action === null ? '' : `<wsa:Action s:mustUnderstand="1">${xmlEscape(action)}</wsa:Action>`) +
    `<wsa:MessageID>${xmlEscape(messageId)}</wsa:MessageID>` +
    `<wsa:ReplyTo><wsa:Address>http://www.w3.org/2005/08/addressing/anonymous</wsa:Address></wsa:ReplyTo>` +
    security +
    (spec.extraHeaderXml ?? '') +
    `</s:Header>`;

  const appliesTo =
    spec.appliesTo === null
      ? ''
      : `<wsp:AppliesTo xmlns:wsp="${NS.wsp}"><wsa:EndpointReference><wsa:Address>${xmlEscape(
          spec.appliesTo ?? 'https://rp.example.com/',
        )}</wsa:Address></wsa:EndpointReference></wsp:AppliesTo>`;
  const tokenType = spec.tokenType === null ? '' : `<t:TokenType>${xmlEscape(spec.tokenType ?? TOKEN_TYPE.saml20)}</t:TokenType>`;
  const keyType = spec.keyType === null ? '' : `<t:KeyType>${xmlEscape(spec.keyType ?? uris.keyTypeBearer)}</t:KeyType>`;
  const lifetime =
    spec.lifetime === undefined
      ? ''
      : `<t:Lifetime>` +
        (spec.lifetime.created === undefined ? '' : `<wsu:Created>${spec.lifetime.created}</wsu:Created>`) +
        (spec.lifetime.expires === undefined ? '' : `<wsu:Expires>${spec.lifetime.expires}</wsu:Expires>`) +
        `</t:Lifetime>`;
  const body =
    `<s:Body><t:RequestSecurityToken xmlns:t="${uris.ns}">` +
    appliesTo +
    keyType +
    `<t:RequestType>${xmlEscape(spec.requestType ?? uris.requestTypeIssue)}</t:RequestType>` +
    tokenType +
    lifetime +
    `</t:RequestSecurityToken></s:Body>`;

  const xml =
    `<?xml version="1.0" encoding="utf-8"?>` +
    `<s:Envelope xmlns:s="${s}" xmlns:wsa="${NS.wsa10}" xmlns:wsu="${NS.wsu}">${header}${body}</s:Envelope>`;

  const headers: Record<string, string> = {};
  if (soap === '1.2') {
    headers['Content-Type'] =
      spec.contentType ??
      `application/soap+xml; charset=utf-8${transportAction === null ? '' : `; action="${transportAction}"`}`;
  } else {
    headers['Content-Type'] = spec.contentType ?? 'text/xml; charset=utf-8';
    if (transportAction !== null) headers['SOAPAction'] = `"${transportAction}"`;
  }
  return { path: pathOf(trust), body: xml, headers, messageId };
}
