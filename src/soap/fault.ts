import type { FaultFamily } from '../core/errors';
import { escapeText } from '../xml/escape';
import { NS, WSA_FAULT_ACTION } from '../xml/namespaces';
import type { SoapVersion } from './envelope';
import { buildReplyEnvelope, soapContentType, type SoapReply } from './response';

export interface FaultDescription {
  readonly family: FaultFamily;
  readonly code: string;
  readonly reason: string;
  /** Receiver faults are ours (internal errors); everything else is the sender's to fix. */
  readonly receiver: boolean;
}

export interface FaultContext {
  readonly version: SoapVersion;
  readonly trustNamespace: string;
  readonly addressingNamespace: string;
  readonly relatesTo: string | undefined;
  readonly requestId: string;
}

/** A SOAP 1.2 or 1.1 fault with the WS-Trust/WS-Security/WS-Addressing code as subcode (1.2) or faultcode (1.1). */
export function buildFault(fault: FaultDescription, ctx: FaultContext): SoapReply {
  const qname = faultQName(fault, ctx);
  const reason = escapeText(fault.reason);
  const detail = `<tb:RequestId xmlns:tb="urn:trustbridge:fault">${escapeText(ctx.requestId)}</tb:RequestId>`;
  let faultXml: string;
  if (ctx.version === '1.2') {
    const top = fault.family === 'soap' ? `s:${fault.code}` : fault.receiver ? 's:Receiver' : 's:Sender';
    const subcode =
      fault.family === 'soap' ? '' : `<s:Subcode><s:Value${qname.declaration}>${qname.name}</s:Value></s:Subcode>`;
    faultXml =
      `<s:Fault><s:Code><s:Value>${top}</s:Value>${subcode}</s:Code>` +
      `<s:Reason><s:Text xml:lang="en">${reason}</s:Text></s:Reason><s:Detail>${detail}</s:Detail></s:Fault>`;
  } else {
    faultXml =
      `<s:Fault><faultcode${qname.declaration}>${qname.name}</faultcode>` +
      `<faultstring xml:lang="en">${reason}</faultstring><detail>${detail}</detail></s:Fault>`;
  }
  const body = buildReplyEnvelope(
    ctx.version,
    { namespace: ctx.addressingNamespace, action: WSA_FAULT_ACTION, relatesTo: ctx.relatesTo },
    faultXml,
    new Date(),
    false,
  );
  return { status: httpStatus(fault, ctx.version), contentType: soapContentType(ctx.version), body };
}

function faultQName(fault: FaultDescription, ctx: FaultContext): { name: string; declaration: string } {
  switch (fault.family) {
    case 'soap':
      return { name: `s:${fault.code}`, declaration: '' };
    case 'wst':
      return { name: `t:${fault.code}`, declaration: ` xmlns:t="${ctx.trustNamespace}"` };
    case 'wsse':
      return { name: `o:${fault.code}`, declaration: ` xmlns:o="${NS.wsse}"` };
    case 'wsa':
      return { name: `a:${fault.code}`, declaration: '' };
  }
}

// SOAP 1.1's HTTP binding answers every fault with 500; SOAP 1.2's answers Sender faults with 400.
function httpStatus(fault: FaultDescription, version: SoapVersion): number {
  if (version === '1.1') return 500;
  return fault.family !== 'soap' && !fault.receiver ? 400 : 500;
}
