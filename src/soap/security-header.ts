import { InvalidSecurityError, UnsupportedSecurityTokenError } from '../core/errors';
import { attribute, childElements, DuplicateElementError, singleChild, textOf, type XmlElementLike } from '../xml/dom';
import { decodeStrictBase64 } from '../xml/base64';
import { parseDateTime } from '../xml/datetime';
import { NS, WSSE_BASE64_BINARY, WSSE_PASSWORD_DIGEST, WSSE_PASSWORD_TEXT } from '../xml/namespaces';
import type { UsernameToken } from '../identity/username-token';
import { soapNamespace, type SoapEnvelope } from './envelope';

export interface SecurityTimestamp {
  readonly created: Date;
  readonly expires: Date | undefined;
}

export interface SecurityHeader<E extends XmlElementLike = Element> {
  readonly element: E;
  readonly timestampElement: E | undefined;
  readonly timestamp: SecurityTimestamp | undefined;
  readonly usernameToken: UsernameToken | undefined;
}

/** Reads the wsse:Security header meant for us (no actor/role), refusing duplicates and unknown token forms. */
export function readSecurityHeader<E extends XmlElementLike>(envelope: SoapEnvelope<E>): SecurityHeader<E> | undefined {
  if (!envelope.header) return undefined;
  const soapNs = soapNamespace(envelope.version);
  const ours = childElements(envelope.header).filter(
    (e) =>
      e.namespaceURI === NS.wsse &&
      e.localName === 'Security' &&
      !e.hasAttributeNS(soapNs, envelope.version === '1.2' ? 'role' : 'actor'),
  );
  if (ours.length === 0) return undefined;
  if (ours.length > 1) throw new InvalidSecurityError('The message carries more than one wsse:Security header.');
  const security = ours[0] as E;
  try {
    const timestamp = singleChild(security, NS.wsu, 'Timestamp');
    const usernameToken = singleChild(security, NS.wsse, 'UsernameToken');
    return {
      element: security,
      timestampElement: timestamp,
      timestamp: timestamp && readTimestamp(timestamp),
      usernameToken: usernameToken && readUsernameToken(usernameToken),
    };
  } catch (err) {
    if (err instanceof DuplicateElementError) {
      throw new InvalidSecurityError(`The wsse:Security header holds more than one ${err.localName}.`);
    }
    throw err;
  }
}

function readTimestamp(el: XmlElementLike): SecurityTimestamp {
  const createdEl = singleChild(el, NS.wsu, 'Created');
  if (!createdEl) throw new InvalidSecurityError('The wsu:Timestamp has no Created.');
  const created = parseDateTime(textOf(createdEl));
  if (!created) throw new InvalidSecurityError('The wsu:Timestamp Created is not a UTC xsd:dateTime.');
  const expiresEl = singleChild(el, NS.wsu, 'Expires');
  let expires: Date | undefined;
  if (expiresEl) {
    expires = parseDateTime(textOf(expiresEl));
    if (!expires) throw new InvalidSecurityError('The wsu:Timestamp Expires is not a UTC xsd:dateTime.');
  }
  return { created, expires };
}

function readUsernameToken(el: XmlElementLike): UsernameToken {
  const usernameEl = singleChild(el, NS.wsse, 'Username');
  const passwordEl = singleChild(el, NS.wsse, 'Password');
  if (!usernameEl || !passwordEl) {
    throw new InvalidSecurityError('The wsse:UsernameToken needs a Username and a Password.');
  }
  // ADAL omits Type; the profile says the default is PasswordText.
  const type = attribute(passwordEl, 'Type') ?? WSSE_PASSWORD_TEXT;
  if (type !== WSSE_PASSWORD_TEXT && type !== WSSE_PASSWORD_DIGEST) {
    throw new UnsupportedSecurityTokenError('The wsse:Password Type must be PasswordText or PasswordDigest.');
  }
  const nonceEl = singleChild(el, NS.wsse, 'Nonce');
  let nonce: Buffer | undefined;
  if (nonceEl) {
    const encoding = attribute(nonceEl, 'EncodingType') ?? WSSE_BASE64_BINARY;
    nonce = encoding === WSSE_BASE64_BINARY ? decodeStrictBase64(textOf(nonceEl)) : undefined;
    if (!nonce) throw new InvalidSecurityError('The wsse:Nonce must be non-empty Base64Binary.');
  }
  const createdEl = singleChild(el, NS.wsu, 'Created');
  const createdText = createdEl && textOf(createdEl);
  const created = createdText === undefined ? undefined : parseDateTime(createdText);
  if (createdText !== undefined && !created) {
    throw new InvalidSecurityError('The wsse:UsernameToken Created is not a UTC xsd:dateTime.');
  }
  const passwordType = type === WSSE_PASSWORD_DIGEST ? 'digest' : 'text';
  if (passwordType === 'digest' && (!nonce || createdText === undefined)) {
    throw new InvalidSecurityError('A PasswordDigest UsernameToken needs a Nonce and a Created.');
  }
  return {
    username: textOf(usernameEl),
    password: passwordType === 'text' ? passwordText(passwordEl) : textOf(passwordEl),
    passwordType,
    nonce,
    createdText,
    created,
  };
}

// A password's spaces are part of it: take the text exactly, without trimming.
function passwordText(el: XmlElementLike): string {
  let s = '';
  for (let n = el.firstChild; n !== null; n = n.nextSibling) {
    if (n.nodeType === 3 || n.nodeType === 4) s += n.nodeValue ?? '';
  }
  return s;
}
