import { createHash, createHmac, randomUUID, sign, type KeyObject } from 'node:crypto';
import { DOMParser } from '@xmldom/xmldom';
import { ExclusiveCanonicalization } from 'xml-crypto';
import { ALG, NS, TRUST13 } from '../../../src/xml/namespaces';
import { X509V3_VALUE_TYPE } from '../../../src/soap/message-signature';

// certificatemixed requests signed to order: the WS-Security X.509 message signature over the
// wsu:Timestamp and the SOAP Body, with any algorithm, transform, Reference, KeyInfo or key, so
// each attack changes exactly one thing of a request that is otherwise valid.

const BASE64_BINARY = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary';
export const CERTIFICATE_MIXED_PATH = '/adfs/services/trust/13/certificatemixed';

export interface MessageSigner {
  readonly privateKey: KeyObject;
  /** DER of the certificate the BinarySecurityToken carries. */
  readonly certificateDer: Buffer;
}

export interface SignedMessageOptions {
  readonly signer: MessageSigner;
  /** The RST's children after RequestType. */
  readonly rstBody: string;
  readonly created?: Date;
  /** null: a Timestamp without Expires. Default: five minutes after Created. */
  readonly expires?: Date | null;
  readonly signatureMethod?: string;
  /** HMAC secret: the SignatureValue is an HMAC instead of an RSA signature. */
  readonly hmacSecret?: Buffer;
  readonly digestMethod?: string;
  readonly digestHash?: 'sha256' | 'sha1';
  /** The Transform elements of every Reference; default exclusive c14n alone. */
  readonly transforms?: readonly string[];
  /** Reference URIs; default the Timestamp and the Body. */
  readonly references?: readonly string[];
  /** Raw content of ds:KeyInfo; default a SecurityTokenReference to the BinarySecurityToken. */
  readonly keyInfo?: string;
}

export interface SignedMessage {
  readonly xml: string;
  readonly messageId: string;
}

const keyInfoToBst = (uri: string): string =>
  `<o:SecurityTokenReference xmlns:o="${NS.wsse}"><o:Reference URI="${uri}" ValueType="${X509V3_VALUE_TYPE}"></o:Reference></o:SecurityTokenReference>`;

/** A WS-Trust 1.3 Issue over SOAP 1.2 for certificatemixed, signed as `o` says. */
export function signedCertificateMessage(o: SignedMessageOptions): SignedMessage {
  const messageId = `urn:uuid:${randomUUID()}`;
  const created = o.created ?? new Date();
  const expires = o.expires === undefined ? new Date(created.getTime() + 300_000) : o.expires;
  const timestamp =
    `<u:Timestamp u:Id="_ts"><u:Created>${created.toISOString()}</u:Created>` +
    (expires === null ? '' : `<u:Expires>${expires.toISOString()}</u:Expires>`) +
    `</u:Timestamp>`;
  const bst =
    `<o:BinarySecurityToken u:Id="bst" ValueType="${X509V3_VALUE_TYPE}" EncodingType="${BASE64_BINARY}">` +
    `${o.signer.certificateDer.toString('base64')}</o:BinarySecurityToken>`;
  const unsigned =
    `<s:Envelope xmlns:s="${NS.soap12}" xmlns:a="${NS.wsa10}" xmlns:u="${NS.wsu}"><s:Header>` +
    `<a:Action s:mustUnderstand="1">${TRUST13.issueAction}</a:Action><a:MessageID>${messageId}</a:MessageID>` +
    `<o:Security s:mustUnderstand="1" xmlns:o="${NS.wsse}">${timestamp}${bst}<!--signature--></o:Security></s:Header>` +
    `<s:Body u:Id="_body"><t:RequestSecurityToken xmlns:t="${TRUST13.ns}"><t:RequestType>${TRUST13.requestTypeIssue}</t:RequestType>` +
    `${o.rstBody}</t:RequestSecurityToken></s:Body></s:Envelope>`;

  const doc = new DOMParser().parseFromString(unsigned, 'application/xml');
  const byWsuId = (id: string): Element | undefined => {
    const all = doc.getElementsByTagName('*');
    for (let i = 0; i < all.length; i++) {
      const el = all.item(i) as Element;
      if (el.getAttributeNS(NS.wsu, 'Id') === id) return el;
    }
    return undefined;
  };
  const transforms = o.transforms ?? [`<ds:Transform Algorithm="${ALG.excC14n}"></ds:Transform>`];
  const references = (o.references ?? ['#_ts', '#_body'])
    .map((uri) => {
      const target = uri.startsWith('#') ? byWsuId(uri.slice(1)) : undefined;
      const canonical = target ? (new ExclusiveCanonicalization().process(target, {}) as string) : '';
      const digest = createHash(o.digestHash ?? 'sha256').update(canonical).digest('base64');
      return (
        `<ds:Reference URI="${uri}"><ds:Transforms>${transforms.join('')}</ds:Transforms>` +
        `<ds:DigestMethod Algorithm="${o.digestMethod ?? ALG.sha256}"></ds:DigestMethod><ds:DigestValue>${digest}</ds:DigestValue></ds:Reference>`
      );
    })
    .join('');
  const signedInfoBody =
    `<ds:CanonicalizationMethod Algorithm="${ALG.excC14n}"></ds:CanonicalizationMethod>` +
    `<ds:SignatureMethod Algorithm="${o.signatureMethod ?? ALG.rsaSha256}"></ds:SignatureMethod>${references}`;
  const canonicalSignedInfo = Buffer.from(`<ds:SignedInfo xmlns:ds="${NS.ds}">${signedInfoBody}</ds:SignedInfo>`);
  const value = o.hmacSecret
    ? createHmac('sha1', o.hmacSecret).update(canonicalSignedInfo).digest()
    : sign('sha256', canonicalSignedInfo, o.signer.privateKey);
  const signature =
    `<ds:Signature xmlns:ds="${NS.ds}"><ds:SignedInfo>${signedInfoBody}</ds:SignedInfo>` +
    `<ds:SignatureValue>${value.toString('base64')}</ds:SignatureValue>` +
    `<ds:KeyInfo>${o.keyInfo ?? keyInfoToBst('#bst')}</ds:KeyInfo></ds:Signature>`;
  return { xml: unsigned.replace('<!--signature-->', signature), messageId };
}

export const CERTIFICATE_MIXED_HEADERS = { 'Content-Type': 'application/soap+xml; charset=utf-8' } as const;
