import { strict as assert } from 'node:assert';
import { NS, TRUST13, TRUST2005 } from '../../../src/xml/namespaces';
import { only, parseFault, parseStrict, text, type ParsedFault } from '../soap-reply';
import type { PostResult } from '../sts-post';

// The precise answers the attack suites expect: a SOAP fault with its code and subcode, a WS-Trust
// Validate Status, each checked as a client would read it (strict XML, QNames resolved).

export type SoapVersion = '1.1' | '1.2';
export type TrustVersion = '1.3' | '2005';

export interface ExpectedFault {
  readonly soap: SoapVersion;
  readonly trust: TrustVersion;
  /** wst: the trust version's namespace; wsse: WS-Security; wsa: WS-Addressing 1.0; soap: a SOAP code without subcode. */
  readonly family: 'wst' | 'wsse' | 'wsa' | 'soap';
  readonly code: string;
  /** The whole fault reason, or a pattern it must match. */
  readonly reason?: string | RegExp;
}

const trustNs = (v: TrustVersion): string => (v === '1.3' ? TRUST13.ns : TRUST2005.ns);

/** Checks the HTTP status, the fault code (and subcode), the reason and the request id of a SOAP fault. */
export function expectSoapFault(res: PostResult, e: ExpectedFault): ParsedFault {
  const status = e.soap === '1.1' || e.family === 'soap' ? 500 : 400;
  assert.equal(res.status, status, `expected a ${e.code} fault, got ${res.status}: ${res.body.slice(0, 800)}`);
  const fault = parseFault(res.body);
  assert.equal(fault.soapVersion, e.soap);
  const soapNs = e.soap === '1.2' ? NS.soap12 : NS.soap11;
  const qname = {
    ns: e.family === 'soap' ? soapNs : e.family === 'wst' ? trustNs(e.trust) : e.family === 'wsse' ? NS.wsse : NS.wsa10,
    local: e.code,
  };
  if (e.soap === '1.2') {
    if (e.family === 'soap') {
      assert.deepEqual(fault.code, qname, fault.reason);
      assert.equal(fault.subcode, undefined);
    } else {
      assert.deepEqual(fault.code, { ns: NS.soap12, local: 'Sender' }, fault.reason);
      assert.deepEqual(fault.subcode, qname, `fault reason: ${fault.reason}`);
    }
  } else {
    assert.deepEqual(fault.subcode, qname, `fault reason: ${fault.reason}`);
  }
  if (typeof e.reason === 'string') assert.equal(fault.reason, e.reason);
  else if (e.reason) assert.match(fault.reason, e.reason);
  assert.equal(fault.requestId, res.requestId, 'the fault names the request id of X-Request-Id');
  assert.doesNotMatch(res.body, /<(?:\w+:)?(?:Encrypted)?Assertion[\s>]/, 'no token in a fault');
  return fault;
}

/** Checks a WS-Trust Validate answer: an RSTR of TokenType Status with this code and reason. */
export function expectValidateStatus(
  res: PostResult,
  e: { readonly soap: SoapVersion; readonly trust: TrustVersion; readonly valid: boolean; readonly reason: string | RegExp },
): void {
  assert.equal(res.status, 200, res.body.slice(0, 800));
  const uris = e.trust === '1.3' ? TRUST13 : TRUST2005;
  const env = parseStrict(res.body).documentElement;
  const soapNs = e.soap === '1.2' ? NS.soap12 : NS.soap11;
  assert.equal(env.namespaceURI, soapNs);
  const rstr = only(only(env, soapNs, 'Body'), uris.ns, 'RequestSecurityTokenResponse');
  assert.equal(text(only(rstr, uris.ns, 'TokenType')), uris.statusTokenType);
  const status = only(rstr, uris.ns, 'Status');
  assert.equal(text(only(status, uris.ns, 'Code')), e.valid ? uris.statusValid : uris.statusInvalid);
  const reason = text(only(status, uris.ns, 'Reason'));
  if (typeof e.reason === 'string') assert.equal(reason, e.reason);
  else assert.match(reason, e.reason);
  assert.doesNotMatch(res.body, /<(?:\w+:)?(?:Encrypted)?Assertion[\s>]/, 'no token in a Status answer');
}
