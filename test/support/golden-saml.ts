// What the Golden SAML suites share: the instance's real signing key taken out as an attacker would
// hold it, assertions forged and signed with it by xmlsec1 (outside Trustbridge), the requests of
// every path that verifies our tokens, and the checks of the alert each refusal must raise.

import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Instance } from '../../src/instance/open-instance';
import { inHome } from '../../src/instance/paths';
import { unsealPrivateKeyPem } from './stolen-key';
import type { AuditEvent } from '../../src/store/store';
import { ALG, NS, TRUST13, TRUST2005 } from '../../src/xml/namespaces';
import { STACK_TRACE, type Combo, type Sent } from './ext-trust';
import { only, parseStrict, text } from './soap-reply';
import type { ServerWithSqliteStore } from './ledger-tamper';
import { postToSts } from './sts-post';
import type { LogRecord } from './test-sts';
import { pathOf, trustNs, trustRequest } from './trust-messages';
import { xmlEscape } from './wstrust-request';
import { cliEnv, runStsAsync, type CliResult } from './unit-cli';
import { SAML2_ASSERTION_ID_ATTRIBUTE } from './xmlsec1';
import { idOf } from './xml-edit';

export { idOf, replaceOnce } from './xml-edit';

/** A signing key as a thief holds it: PEM files on disk, outside Trustbridge. */
export interface StolenKey {
  readonly thumbprint: string;
  readonly keyFile: string;
  readonly certFile: string;
  /** The private key's PEM text, so a test can check it never reaches a log or an answer. */
  readonly privateKeyPem: string;
  /** Removes the files. */
  discard(): void;
}

/** Unseals one of the instance's signing keys (the active one by default) with its master key and writes it out as PEM. */
export async function stealSigningKey(instance: Instance, thumbprint?: string): Promise<StolenKey> {
  const records = await instance.store.signingKeys.list();
  const record = thumbprint === undefined ? records.find((r) => r.state === 'active') : records.find((r) => r.thumbprint === thumbprint);
  assert.ok(record, `no signing key ${thumbprint ?? '(active)'}`);
  const dir = mkdtempSync(join(tmpdir(), 'golden-saml-key-'));
  const privateKeyPem = unsealPrivateKeyPem(record, instance.masterKey);
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  writeFileSync(keyFile, privateKeyPem, { mode: 0o600 });
  writeFileSync(certFile, record.certificatePem);
  return {
    thumbprint: record.thumbprint,
    keyFile,
    certFile,
    privateKeyPem,
    discard: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * An empty enveloped signature for xmlsec1 to fill in: exclusive c14n, RSA-SHA256, SHA-256, one
 * Reference to the assertion's ID, and an X509Data slot xmlsec1 fills with the certificate.
 */
export function signatureTemplate(id: string): string {
  return (
    `<ds:Signature xmlns:ds="${NS.ds}"><ds:SignedInfo>` +
    `<ds:CanonicalizationMethod Algorithm="${ALG.excC14n}"/><ds:SignatureMethod Algorithm="${ALG.rsaSha256}"/>` +
    `<ds:Reference URI="#${id}"><ds:Transforms><ds:Transform Algorithm="${ALG.envelopedSignature}"/>` +
    `<ds:Transform Algorithm="${ALG.excC14n}"/></ds:Transforms><ds:DigestMethod Algorithm="${ALG.sha256}"/>` +
    `<ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue></ds:SignatureValue>` +
    `<ds:KeyInfo><ds:X509Data></ds:X509Data></ds:KeyInfo></ds:Signature>`
  );
}

/** Runs a command to completion without blocking this process (the server under test runs in it). */
function run(file: string, args: readonly string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = execFile(file, args, { env: cliEnv(), timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') {
        fail(err);
        return;
      }
      done({ status: err ? (err.code as number) : 0, stdout, stderr });
    });
    child.stdin?.end();
  });
}

/** Signs the SAML 2.0 assertion holding `signatureTemplate` with xmlsec1 (libxmlsec1, C) and the stolen key. */
export async function signWithXmlsec1(assertionWithTemplate: string, key: StolenKey): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'golden-saml-sign-'));
  try {
    const input = join(dir, 'template.xml');
    const output = join(dir, 'signed.xml');
    writeFileSync(input, assertionWithTemplate);
    const r = await run('xmlsec1', [
      '--sign',
      '--privkey-pem',
      `${key.keyFile},${key.certFile}`,
      '--id-attr:ID',
      SAML2_ASSERTION_ID_ATTRIBUTE,
      '--output',
      output,
      input,
    ]);
    assert.equal(r.status, 0, `xmlsec1 --sign failed: ${r.stderr}`);
    // xmlsec1 writes an XML declaration and a final newline; the assertion travels inside other XML.
    return readFileSync(output, 'utf8').replace(/^<\?xml[^>]*\?>\s*/, '').trimEnd();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface NewAssertion {
  readonly id?: string;
  readonly issuer: string;
  readonly nameId: string;
  readonly issueInstant?: Date;
  readonly notOnOrAfter: Date;
  readonly audience: string;
  readonly recipient: string;
  /** Attribute name → values. */
  readonly attributes: Readonly<Record<string, readonly string[]>>;
}

/** A SAML 2.0 assertion written by hand, as a forger would, with the signature template after its Issuer. */
export function assertionTemplate(o: NewAssertion): { xml: string; id: string } {
  const id = o.id ?? `_${randomUUID()}`;
  const at = (o.issueInstant ?? new Date()).toISOString();
  const end = o.notOnOrAfter.toISOString();
  const attributes = Object.entries(o.attributes)
    .map(([name, values]) => `<saml:Attribute Name="${xmlEscape(name)}">${values.map((v) => `<saml:AttributeValue>${xmlEscape(v)}</saml:AttributeValue>`).join('')}</saml:Attribute>`)
    .join('');
  const xml =
    `<saml:Assertion xmlns:saml="${NS.saml2}" ID="${id}" IssueInstant="${at}" Version="2.0">` +
    `<saml:Issuer>${xmlEscape(o.issuer)}</saml:Issuer>${signatureTemplate(id)}` +
    `<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">${xmlEscape(o.nameId)}</saml:NameID>` +
    `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">` +
    `<saml:SubjectConfirmationData NotOnOrAfter="${end}" Recipient="${xmlEscape(o.recipient)}"/></saml:SubjectConfirmation></saml:Subject>` +
    `<saml:Conditions NotBefore="${at}" NotOnOrAfter="${end}"><saml:AudienceRestriction><saml:Audience>${xmlEscape(o.audience)}</saml:Audience>` +
    `</saml:AudienceRestriction></saml:Conditions>` +
    `<saml:AttributeStatement>${attributes}</saml:AttributeStatement>` +
    `<saml:AuthnStatement AuthnInstant="${at}"><saml:AuthnContext>` +
    `<saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef>` +
    `</saml:AuthnContext></saml:AuthnStatement></saml:Assertion>`;
  return { xml, id };
}

/**
 * A real token turned into a template: its signature taken out, `edit` applied (it must change the
 * text), and an empty signature put back after the Issuer, ready for signWithXmlsec1. The ID stays.
 */
export function reSignTemplate(genuine: string, edit: (unsigned: string) => string): string {
  const signature = /<ds:Signature [\s\S]*?<\/ds:Signature>/.exec(genuine);
  assert.ok(signature, 'the token has a ds:Signature');
  const unsigned = genuine.replace(signature[0], '');
  const edited = edit(unsigned);
  assert.notEqual(edited, unsigned, 'the edit changes the token');
  const issuerEnd = /<\/(?:\w+:)?Issuer>/.exec(edited);
  assert.ok(issuerEnd, 'the token has an Issuer');
  const at = issuerEnd.index + issuerEnd[0].length;
  return edited.slice(0, at) + signatureTemplate(idOf(genuine)) + edited.slice(at);
}

/** The SignatureValue text: what identifies a token's text in a log. */
export function signatureValueOf(assertionXml: string): string {
  const m = /<ds:SignatureValue>([^<]+)<\/ds:SignatureValue>/.exec(assertionXml);
  assert.ok(m, 'the assertion has a SignatureValue');
  return (m[1] as string).replace(/\s+/g, '');
}

/** The assertion inside an unsigned samlp:Response from `issuer`, as a browser posts it to AWS sign-in. */
export function inSamlResponse(assertionXml: string, issuer: string): string {
  return (
    `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r${randomUUID()}" Version="2.0" ` +
    `IssueInstant="${new Date().toISOString()}" Destination="https://signin.aws.amazon.com/saml">` +
    `<saml:Issuer xmlns:saml="${NS.saml2}">${xmlEscape(issuer)}</saml:Issuer>` +
    `<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` +
    `${assertionXml}</samlp:Response>`
  );
}

export const onBehalfOf = (token: string): string => `<t:OnBehalfOf>${token}</t:OnBehalfOf>`;
export const actAs = (token: string): string => `<tr:ActAs xmlns:tr="${NS.wst14}">${token}</tr:ActAs>`;
export const target = (op: 'Validate' | 'Renew' | 'Cancel', token: string): string => `<t:${op}Target>${token}</t:${op}Target>`;

export const USER_AGENT = 'golden-saml-suite/1.0';

export interface StsAddress {
  readonly baseUrl: string;
  readonly tlsCertificatePem: string;
}

/** A WS-Trust request (UsernameToken PasswordText) with this suite's User-Agent. */
export async function trustCall(
  server: StsAddress,
  combo: Combo,
  o: { user: string; password: string; op: 'Issue' | 'Validate' | 'Renew' | 'Cancel'; rstBody: string },
): Promise<Sent> {
  const messageId = `urn:uuid:${randomUUID()}`;
  const req = trustRequest({ version: combo.version, soap: combo.soap, username: o.user, password: o.password, requestType: o.op, rstBody: o.rstBody, messageId });
  const res = await postToSts(`${server.baseUrl}${pathOf(combo.version)}`, {
    ca: server.tlsCertificatePem,
    headers: { ...req.headers, 'User-Agent': USER_AGENT },
    body: req.body,
    timeoutMs: 20_000,
  });
  assert.doesNotMatch(res.body, STACK_TRACE, `the response leaks internals: ${res.body.slice(0, 1500)}`);
  assert.match(res.requestId, /^[0-9a-f-]{36}$/, 'every answer carries X-Request-Id');
  return { res, messageId };
}

/** A Validate answer's Status (valid or invalid) and Reason, read strictly; no token may come with it. */
export function statusOf(sent: Sent, combo: Combo): { valid: boolean; reason: string } {
  assert.equal(sent.res.status, 200, sent.res.body.slice(0, 800));
  const doc = parseStrict(sent.res.body);
  const s = combo.soap === '1.2' ? NS.soap12 : NS.soap11;
  const t = trustNs(combo.version);
  const body = only(doc.documentElement, s, 'Body');
  const rstr = only(body, t, 'RequestSecurityTokenResponse');
  assert.equal(text(only(rstr, t, 'TokenType')), `${t}/RSTR/Status`);
  const status = only(rstr, t, 'Status');
  const code = text(only(status, t, 'Code'));
  const uris = combo.version === '1.3' ? TRUST13 : TRUST2005;
  assert.ok(code === uris.statusValid || code === uris.statusInvalid, code);
  assert.doesNotMatch(sent.res.body, /<(?:\w+:)?Assertion[\s>]/, 'a status answer carries no token');
  return { valid: code === uris.statusValid, reason: text(only(status, t, 'Reason')) };
}

/** The error-level `alert` log lines written for this request. */
export function alertLogLines(logs: readonly LogRecord[], requestId: string): LogRecord[] {
  return logs.filter((r) => r.msg === 'alert' && r.fields['requestId'] === requestId);
}

/** The audit events (or only the alerts) the store holds for this request, once the audit trail has flushed. */
export async function storedEvents(instance: Instance, requestId: string, { alertsOnly = false } = {}): Promise<AuditEvent[]> {
  await instance.audit.flush();
  return (await instance.store.audit.query({ alertsOnly, limit: 100_000 })).filter((e) => e.requestId === requestId);
}

/** The alerts the store holds for this request, once the audit trail has flushed. */
export const storedAlerts = (instance: Instance, requestId: string): Promise<AuditEvent[]> => storedEvents(instance, requestId, { alertsOnly: true });

export interface ExpectedAlert {
  readonly alert: string;
  readonly severity: 'critical' | 'high';
  readonly tokenId: string;
  readonly signingKeyThumbprint: string;
  /** Fields the alert's facts must carry with exactly these values (e.g. differs, signingKeyState). */
  readonly facts?: Readonly<Record<string, unknown>>;
}

/**
 * Exactly one alert for this request, both as an error-level `alert` log line and as an audit event in
 * the store (eventSource detector, the request's id, the token's id and signing key). Returns the event.
 */
export async function expectOneAlert(
  server: { readonly logs: readonly LogRecord[]; readonly instance: Instance },
  requestId: string,
  expected: ExpectedAlert,
): Promise<AuditEvent> {
  const lines = alertLogLines(server.logs, requestId);
  assert.equal(lines.length, 1, `one alert log line for request ${requestId}: ${JSON.stringify(lines)}`);
  const line = lines[0] as LogRecord;
  assert.equal(line.level, 'error');
  assert.equal(line.fields['alert'], expected.alert);
  assert.equal(line.fields['severity'], expected.severity);
  assert.equal(line.fields['tokenId'], expected.tokenId);
  assert.equal(line.fields['signingKeyThumbprint'], expected.signingKeyThumbprint);
  for (const [k, v] of Object.entries(expected.facts ?? {})) assert.deepEqual(line.fields[k], v, `log line field ${k}`);

  const events = await storedAlerts(server.instance, requestId);
  assert.equal(events.length, 1, `one stored alert for request ${requestId}: ${JSON.stringify(events)}`);
  const event = events[0] as AuditEvent;
  assert.equal(event.eventSource, 'detector');
  assert.equal(event.eventName, expected.alert);
  assert.equal(event.alert, expected.alert);
  assert.equal(event.severity, expected.severity);
  assert.equal(event.requestId, requestId);
  const data = event.additionalEventData ?? {};
  assert.equal(data['tokenId'], expected.tokenId);
  assert.equal(data['signingKeyThumbprint'], expected.signingKeyThumbprint);
  for (const [k, v] of Object.entries(expected.facts ?? {})) assert.deepEqual(data[k], v, `stored alert field ${k}`);
  return event;
}

/** Nothing the server logged or stored in the audit trail contains any of these texts. */
export async function expectNotRecorded(server: { readonly logs: readonly LogRecord[]; readonly instance: Instance }, secrets: readonly string[]): Promise<void> {
  await server.instance.audit.flush();
  const logs = JSON.stringify(server.logs);
  const audit = JSON.stringify(await server.instance.store.audit.query({ limit: 100_000 }));
  for (const secret of secrets) {
    assert.ok(secret.length >= 8, 'a meaningful text to look for');
    assert.ok(!logs.includes(secret), `the log holds "${secret.slice(0, 40)}…"`);
    assert.ok(!audit.includes(secret), `the audit trail holds "${secret.slice(0, 40)}…"`);
  }
  assert.doesNotMatch(logs, /PRIVATE KEY|<(?:\w+:)?Assertion[\s>]|<ds:Signature/, 'no key or token markup in the logs');
  assert.doesNotMatch(audit, /PRIVATE KEY|<(?:\w+:)?Assertion[\s>]|<ds:Signature/, 'no key or token markup in the audit trail');
}

/** The lines of a PEM's body, each long enough to be recognised if leaked. */
export const pemBodyLines = (pem: string): string[] => pem.split('\n').filter((l) => l.length >= 40 && !l.startsWith('-----'));

/** `sts ARGS` (bin/sts.js over dist/) in a child process, run asynchronously. */
export function stsCli(args: readonly string[]): Promise<CliResult> {
  return runStsAsync(args);
}

/** Runs `fn` on a raw connection to the instance's SQLite database (an attacker with database access). */
export function withStoreDatabase<T>(server: ServerWithSqliteStore, fn: (db: Database.Database) => T): T {
  const db = new Database(inHome(server.home, server.instance.config.store.path), { timeout: 5000 });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

/** Runs `fn` with the named trigger dropped, and puts the trigger back afterwards. */
export function withoutTrigger<T>(db: Database.Database, name: string, fn: () => T): T {
  const trigger = db.prepare<[string], { sql: string }>("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?").get(name);
  assert.ok(trigger, `the trigger ${name} exists`);
  db.exec(`DROP TRIGGER ${name}`);
  try {
    return fn();
  } finally {
    db.exec(trigger.sql);
  }
}
