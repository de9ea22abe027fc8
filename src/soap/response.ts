import { escapeText } from '../xml/escape';
import { NS } from '../xml/namespaces';
import { soapNamespace, type SoapVersion } from './envelope';

export interface SoapReply {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

export const soapContentType = (v: SoapVersion): string =>
  v === '1.2' ? 'application/soap+xml; charset=utf-8' : 'text/xml; charset=utf-8';

export interface ReplyAddressing {
  readonly namespace: string;
  readonly action: string;
  readonly relatesTo: string | undefined;
}

/** How long the reply's own wsu:Timestamp is valid: AD FS uses five minutes. */
const REPLY_TIMESTAMP_MS = 5 * 60 * 1000;

/** An envelope with WS-Addressing Action and RelatesTo, and a Security header with a Timestamp, as AD FS replies. */
export function buildReplyEnvelope(
  version: SoapVersion,
  addressing: ReplyAddressing,
  bodyContent: string,
  now: Date,
  withTimestamp: boolean,
): string {
  const s = soapNamespace(version);
  const relatesTo =
    addressing.relatesTo === undefined ? '' : `<a:RelatesTo>${escapeText(addressing.relatesTo)}</a:RelatesTo>`;
  const security = withTimestamp
    ? `<o:Security s:mustUnderstand="1" xmlns:o="${NS.wsse}"><u:Timestamp u:Id="_0">` +
      `<u:Created>${now.toISOString()}</u:Created>` +
      `<u:Expires>${new Date(now.getTime() + REPLY_TIMESTAMP_MS).toISOString()}</u:Expires>` +
      `</u:Timestamp></o:Security>`
    : '';
  return (
    `<s:Envelope xmlns:s="${s}" xmlns:a="${addressing.namespace}" xmlns:u="${NS.wsu}">` +
    `<s:Header><a:Action s:mustUnderstand="1">${escapeText(addressing.action)}</a:Action>${relatesTo}${security}</s:Header>` +
    `<s:Body>${bodyContent}</s:Body></s:Envelope>`
  );
}
