import { signedInfoOf } from '../src/xml/enveloped-signature';
import { NS } from '../src/xml/namespaces';

// What the floor server (bench/floor-server.ts) signs and sends for each request: the least an STS
// must do per token besides its protocol work. The bytes signed are a token's canonical ds:SignedInfo,
// built by the code that builds it for tokens (src/xml/enveloped-signature.ts), over the request body.

/** Where the load generator finds the signature in a floor reply: every successful reply has it. */
export const FLOOR_REPLY_MARKER = Buffer.from('</ds:SignatureValue>');

/** Base64 of an RSA-2048 signature (256 bytes): always this long, so a reply's size is known up front. */
const SIGNATURE_BASE64_CHARS = 344;

/** The bytes one request's signature covers: a token's canonical SignedInfo, over the SHA-256 of the request body. */
export function floorSignedData(requestBody: Buffer): Buffer {
  return signedInfoOf({ id: '_floor', beforeSignature: requestBody.toString('utf8'), afterSignature: '' }).canonical;
}

/**
 * A reply of exactly `replyBytes` bytes (a real Issue reply's size) around a signature: a SOAP 1.2
 * envelope with the signature value and padding, so the reply costs the same to send as a token.
 */
export function floorReplyBuilder(replyBytes: number): (signatureBase64: string) => string {
  const head = `<s:Envelope xmlns:s="${NS.soap12}"><s:Body><f:FloorReply xmlns:f="urn:trustbridge:bench:floor"><ds:SignatureValue xmlns:ds="${NS.ds}">`;
  const tail = `</ds:SignatureValue><f:Padding>`;
  const end = `</f:Padding></f:FloorReply></s:Body></s:Envelope>`;
  const padding = replyBytes - (head.length + SIGNATURE_BASE64_CHARS + tail.length + end.length);
  if (padding < 0) throw new Error(`a floor reply needs at least ${replyBytes - padding} bytes (asked for ${replyBytes})`);
  const after = tail + 'x'.repeat(padding) + end;
  return (signatureBase64) => head + signatureBase64 + after;
}
