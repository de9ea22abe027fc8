import { randomUUID } from 'node:crypto';
import { request } from 'node:https';
import { childElements, singleChild, textOf } from '../xml/dom';
import { escapeText } from '../xml/escape';
import { NS, TRUST13, WSSE_PASSWORD_TEXT } from '../xml/namespaces';
import { parseXmlSafely, XmlRejectedError } from '../xml/safe-parse';
import type { OnlineLedgerAnswer, OnlineLedgerCheck } from './online-ledger-check';

const USERNAMEMIXED_13 = '/adfs/services/trust/13/usernamemixed';
const VALIDATE_ACTION = `${TRUST13.ns}/RST/Validate`;
const DEFAULT_TIMEOUT_MS = 10_000;
const MAX_ANSWER_BYTES = 256 * 1024;
const ANSWER_LIMITS = { maxBytes: MAX_ANSWER_BYTES, maxDepth: 24, maxElements: 2000, maxAttributesPerElement: 16 };

export interface TrustbridgeLedgerCheckOptions {
  /** Base URL of the Trustbridge STS, e.g. https://sts.example.com. */
  readonly sts: string;
  /** The relying party's account at Trustbridge (any user may ask for a Status). */
  readonly username: string;
  readonly password: string;
  /** PEM certificate(s) to trust for the STS's TLS certificate; the system store otherwise. */
  readonly ca?: string;
  /** How long the whole exchange may take (default 10 s). */
  readonly timeoutMs?: number;
}

/**
 * The online ledger check against Trustbridge: WS-Trust 1.3 Validate (Status) at usernamemixed, the
 * assertion inline in ValidateTarget. Trustbridge answers valid only for a token signed by one of its
 * keys whose issuance record holds the same digest, not cancelled and within its lifetime. Anything
 * that is not a Status answer (network, TLS, timeout, a fault such as refused credentials) is
 * "unreachable", with the reason; the password never appears in one.
 */
export function trustbridgeLedgerCheck(options: TrustbridgeLedgerCheckOptions): OnlineLedgerCheck {
  const url = `${options.sts.replace(/\/+$/, '')}${USERNAMEMIXED_13}`;
  return {
    async check(assertionXml: string): Promise<OnlineLedgerAnswer> {
      let answer: { status: number; body: string };
      try {
        answer = await post(url, validateRequest(options, assertionXml), options);
      } catch (err) {
        return { status: 'unreachable', reason: `${url}: ${err instanceof Error ? err.message : String(err)}` };
      }
      return readStatusAnswer(answer.status, answer.body);
    },
  };
}

function validateRequest(options: TrustbridgeLedgerCheckOptions, assertionXml: string): string {
  const now = new Date();
  const t = TRUST13.ns;
  return (
    `<s:Envelope xmlns:s="${NS.soap12}" xmlns:a="${NS.wsa10}" xmlns:u="${NS.wsu}"><s:Header>` +
    `<a:Action s:mustUnderstand="1">${VALIDATE_ACTION}</a:Action><a:MessageID>urn:uuid:${randomUUID()}</a:MessageID>` +
    `<o:Security s:mustUnderstand="1" xmlns:o="${NS.wsse}">` +
    `<u:Timestamp u:Id="_0"><u:Created>${now.toISOString()}</u:Created>` +
    `<u:Expires>${new Date(now.getTime() + 300_000).toISOString()}</u:Expires></u:Timestamp>` +
    `<o:UsernameToken><o:Username>${escapeText(options.username)}</o:Username>` +
    `<o:Password Type="${WSSE_PASSWORD_TEXT}">${escapeText(options.password)}</o:Password></o:UsernameToken>` +
    `</o:Security></s:Header><s:Body><t:RequestSecurityToken xmlns:t="${t}">` +
    `<t:TokenType>${TRUST13.statusTokenType}</t:TokenType><t:RequestType>${TRUST13.requestTypeValidate}</t:RequestType>` +
    `<t:ValidateTarget>${assertionXml}</t:ValidateTarget>` +
    `</t:RequestSecurityToken></s:Body></s:Envelope>`
  );
}

function readStatusAnswer(httpStatus: number, body: string): OnlineLedgerAnswer {
  let envelope: Element;
  try {
    envelope = parseXmlSafely(body, ANSWER_LIMITS).documentElement;
  } catch (err) {
    if (!(err instanceof XmlRejectedError)) throw err;
    return { status: 'unreachable', reason: `the STS answered HTTP ${httpStatus} without a SOAP message` };
  }
  const soapBody = envelope.namespaceURI === NS.soap12 && envelope.localName === 'Envelope' ? singleChild(envelope, NS.soap12, 'Body') : undefined;
  const content = soapBody && childElements(soapBody)[0];
  if (content?.namespaceURI === NS.soap12 && content.localName === 'Fault') {
    return { status: 'unreachable', reason: `the STS refused the Validate request: ${faultReason(content)}` };
  }
  const status = content?.namespaceURI === TRUST13.ns && content.localName === 'RequestSecurityTokenResponse' ? singleChild(content, TRUST13.ns, 'Status') : undefined;
  const code = status && singleChild(status, TRUST13.ns, 'Code');
  const reason = status && singleChild(status, TRUST13.ns, 'Reason');
  const because = reason ? { reason: textOf(reason) } : {};
  if (code && textOf(code) === TRUST13.statusValid) return { status: 'valid', ...because };
  if (code && textOf(code) === TRUST13.statusInvalid) return { status: 'invalid', ...because };
  return { status: 'unreachable', reason: `the STS answered HTTP ${httpStatus} without a Validate Status` };
}

function faultReason(fault: Element): string {
  const reason = singleChild(fault, NS.soap12, 'Reason');
  const text = reason && childElements(reason).find((e) => e.namespaceURI === NS.soap12 && e.localName === 'Text');
  return text ? textOf(text) : 'no reason given';
}

// Settles once, whichever comes first: the whole answer, an error on either side, or the deadline.
function post(url: string, body: string, options: TrustbridgeLedgerCheckOptions): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (err: Error | undefined, answer?: { status: number; body: string }): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) {
        req.destroy();
        reject(err);
      } else resolve(answer as { status: number; body: string });
    };
    const req = request(
      url,
      {
        method: 'POST',
        agent: false,
        ...(options.ca === undefined ? {} : { ca: options.ca }),
        headers: { 'content-type': 'application/soap+xml; charset=utf-8', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_ANSWER_BYTES) settle(new Error(`the answer is larger than ${MAX_ANSWER_BYTES} bytes`));
          else chunks.push(chunk);
        });
        res.on('end', () => settle(undefined, { status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (err) => settle(err));
        res.on('aborted', () => settle(new Error('the connection closed before the answer was complete')));
      },
    );
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const timer = setTimeout(() => settle(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (err) => settle(err));
    req.end(body);
  });
}
