// Shared helpers for the proof-key, encryption, SAML 1.1, delegation and certificatemixed suites:
// sending WS-Trust requests, reading RSTRs and faults, decrypting with xmlsec1, key material.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSelfSignedCertificate, type GeneratedCertificate } from '../../src/keys/certificates';
import type { ServingInstance } from '../../src/instance/open-instance';
import { NS } from '../../src/xml/namespaces';
import { children, only, parseFault, parseStrict, text } from './soap-reply';
import { postToSts, type PostResult } from './sts-post';
import { pathOf, trustNs, trustRequest, type Soap, type Version } from './trust-messages';

export interface Combo {
  readonly version: Version;
  readonly soap: Soap;
}

export const ALL_COMBOS: readonly Combo[] = [
  { version: '1.3', soap: '1.2' },
  { version: '1.3', soap: '1.1' },
  { version: '2005', soap: '1.2' },
  { version: '2005', soap: '1.1' },
];

export const comboName = (c: Combo): string => `WS-Trust ${c.version} over SOAP ${c.soap}`;

/** What every suite needs of a running server. */
export interface ServerLike {
  readonly home: string;
  readonly baseUrl: string;
  readonly instance: ServingInstance;
  readonly signingCertificatePem: string;
  readonly tlsCertificatePem: string;
}

export interface Sent {
  readonly res: PostResult;
  readonly messageId: string;
}

// Signs of an internal error leaking to the caller.
export const STACK_TRACE = /\n\s+at\s|\bat [\w.<>]+ \(|\.(?:ts|js):\d+|node_modules/;

export async function sendTrust(
  server: ServerLike,
  combo: Combo,
  o: { user: string; password: string; op: 'Issue' | 'Validate' | 'Renew' | 'Cancel'; rstBody: string },
): Promise<Sent> {
  const messageId = `urn:uuid:${randomUUID()}`;
  const req = trustRequest({
    version: combo.version,
    soap: combo.soap,
    username: o.user,
    password: o.password,
    requestType: o.op,
    rstBody: o.rstBody,
    messageId,
  });
  const res = await postToSts(`${server.baseUrl}${pathOf(combo.version)}`, {
    ca: server.tlsCertificatePem,
    headers: req.headers,
    body: req.body,
  });
  assert.doesNotMatch(res.body, STACK_TRACE, `the response leaks internals: ${res.body.slice(0, 1500)}`);
  return { res, messageId };
}

export type FaultFamily = 'wst' | 'wsse';

/** Checks a sender fault with the given WS-Trust (in the version's namespace) or WS-Security code; returns the reason. */
export function expectFault(sent: Sent, combo: Combo, family: FaultFamily, code: string, reason?: RegExp): string {
  assert.equal(sent.res.status, combo.soap === '1.2' ? 400 : 500, `expected a ${code} fault, got: ${sent.res.body.slice(0, 600)}`);
  const fault = parseFault(sent.res.body);
  assert.equal(fault.soapVersion, combo.soap);
  if (combo.soap === '1.2') assert.deepEqual(fault.code, { ns: NS.soap12, local: 'Sender' }, fault.reason);
  const ns = family === 'wst' ? trustNs(combo.version) : NS.wsse;
  assert.deepEqual(fault.subcode, { ns, local: code }, `fault reason: ${fault.reason}`);
  assert.equal(fault.relatesTo, sent.messageId);
  if (reason) assert.match(fault.reason, reason);
  assert.doesNotMatch(sent.res.body, /<(?:\w+:)?(?:Encrypted)?Assertion[\s>]/, 'no token in a fault');
  return fault.reason;
}

/** The RSTR of a successful reply: in a Collection for a 1.3 Issue, bare otherwise. */
export function rstrOf(sent: Sent, combo: Combo, op: 'Issue' | 'Validate' | 'Renew' = 'Issue'): Element {
  assert.equal(sent.res.status, 200, sent.res.body.slice(0, 1500));
  const doc = parseStrict(sent.res.body);
  const env = doc.documentElement;
  const s = combo.soap === '1.2' ? NS.soap12 : NS.soap11;
  assert.equal(env.namespaceURI, s);
  const header = only(env, s, 'Header');
  assert.equal(text(only(header, NS.wsa10, 'RelatesTo')), sent.messageId);
  const body = only(env, s, 'Body');
  const t = trustNs(combo.version);
  if (combo.version === '1.3' && op === 'Issue') {
    return only(only(body, t, 'RequestSecurityTokenResponseCollection'), t, 'RequestSecurityTokenResponse');
  }
  return only(body, t, 'RequestSecurityTokenResponse');
}

export const childText = (parent: Element, ns: string, name: string): string => text(only(parent, ns, name));

/** The KeyIdentifier text of the RSTR's RequestedAttachedReference. */
export function attachedReferenceId(rstr: Element, combo: Combo): { id: string; valueType: string; tokenType: string } {
  const t = trustNs(combo.version);
  const str = only(only(rstr, t, 'RequestedAttachedReference'), NS.wsse, 'SecurityTokenReference');
  const ki = only(str, NS.wsse, 'KeyIdentifier');
  return {
    id: text(ki),
    valueType: ki.getAttribute('ValueType') ?? '',
    tokenType: str.getAttributeNS(NS.wsse11, 'TokenType') ?? '',
  };
}

/** Cuts the first element with this exact start-tag prefix (e.g. '<saml:Assertion ') out of `xml`, as sent. */
export function cutElement(xml: string, openPrefix: string, closeTag: string): string {
  const start = xml.indexOf(openPrefix);
  const end = xml.indexOf(closeTag, start);
  assert.ok(start !== -1 && end !== -1, `no ${openPrefix.trim()} in: ${xml.slice(0, 500)}`);
  return xml.slice(start, end + closeTag.length);
}

export interface XmlsecRun {
  readonly ok: boolean;
  readonly output: string;
  /** The decrypted document (empty when decryption failed). */
  readonly xml: string;
}

/** Decrypts the (first) xenc:EncryptedData in `xml` with xmlsec1 and this RSA private key only. */
export function decryptWithXmlsec1(xml: string, privateKeyPem: string): XmlsecRun {
  const dir = mkdtempSync(join(tmpdir(), 'xmlsec1-dec-'));
  try {
    writeFileSync(join(dir, 'doc.xml'), xml);
    writeFileSync(join(dir, 'key.pem'), privateKeyPem);
    const run = spawnSync(
      'xmlsec1',
      ['--decrypt', '--privkey-pem', join(dir, 'key.pem'), '--output', join(dir, 'out.xml'), join(dir, 'doc.xml')],
      { encoding: 'utf8', timeout: 20_000 },
    );
    const ok = run.status === 0;
    let out = '';
    if (ok) out = readFileSync(join(dir, 'out.xml'), 'utf8');
    return { ok, output: `${run.stdout}${run.stderr}`, xml: out };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** An RSA-2048 key with a self-signed certificate (node-forge via src/keys/certificates.ts). */
export const newKeyPair = (commonName: string): GeneratedCertificate => generateSelfSignedCertificate({ commonName, validDays: 2 });

export { setLedgerNotOnOrAfter } from './ledger-tamper';

/** Runs openssl with these arguments (bounded), failing the test on a non-zero exit. */
export function openssl(args: readonly string[], cwd: string): string {
  const run = spawnSync('openssl', args, { cwd, encoding: 'utf8', timeout: 30_000 });
  assert.equal(run.status, 0, `openssl ${args.join(' ')}: ${run.stderr}`);
  return run.stdout;
}

export { children, only, parseStrict, text };
