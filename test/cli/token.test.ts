import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NS } from '../../src/xml/namespaces';
import { only, parseStrict, text } from '../support/ext-trust';
import { temporaryHome } from '../support/temporary-home';
import { freePort, killAllStsProcesses, runSts, StsProcess, type CliResult } from '../support/unit-cli';
import { SAML11_ASSERTION_NODE, SAML2_ASSERTION_ID_ATTRIBUTE, verifyWithXmlsec1 } from '../support/xmlsec1';

// `sts token` against a real `sts serve` on a demo instance: the WSDL-driven client (the soap package
// loading our mex) asks for a token and prints it exactly as received.

const DEMO_USER = 'demo@trustbridge.localhost';
const DEMO_RP = 'https://rp.example.com/';
const LISTENING = /listening on (https:\/\/\S+) \((\d+) workers?\)/;
const STACK = /\n\s+at\s|\bat [\w.<>]+ \(|\.(?:ts|js):\d+|node_modules/;

describe('cli: sts token (against sts serve on a demo instance)', function () {
  this.timeout(120_000);
  const { home } = temporaryHome('trustbridge-ext-cli-token-', { beforeRemoving: killAllStsProcesses });
  let port: number;
  let password: string;
  let signingCertificatePem: string;
  let server: StsProcess | undefined;

  before(async () => {
    port = await freePort();
    const init = runSts(['init', '--home', home, '--demo', '--port', String(port)]);
    assert.equal(init.status, 0, init.stderr);
    password = /^password: (.+)$/m.exec(readFileSync(join(home, 'demo-credentials.txt'), 'utf8'))?.[1] ?? '';
    assert.ok(password, 'the demo password is in demo-credentials.txt');
    signingCertificatePem = readFileSync(join(home, 'token-signing.crt.pem'), 'utf8');
    server = new StsProcess(['serve', '--home', home, '--workers', '1', '--port', String(port)]);
    const [, baseUrl] = await server.waitForOutput(LISTENING, 30_000);
    assert.equal(baseUrl, `https://localhost:${port}`);
  });

  const token = (extra: readonly string[], input = `${password}\n`): CliResult =>
    runSts(
      ['token', '--sts', `https://localhost:${port}`, '--applies-to', DEMO_RP, '--user', DEMO_USER, '--ca', join(home, 'tls', 'localhost.crt.pem'), ...extra],
      { input, timeoutMs: 60_000 },
    );

  it('prints a SAML 2.0 assertion (WS-Trust 1.3 by default) that xmlsec1 verifies against token-signing.crt.pem', () => {
    const r = token([]);
    assert.equal(r.status, 0, r.stderr);
    const xml = r.stdout.trim();
    assert.match(xml, /^<Assertion [^>]*xmlns="urn:oasis:names:tc:SAML:2\.0:assertion"/);
    assert.ok(xml.endsWith('</Assertion>'));
    const verified = verifyWithXmlsec1(xml, signingCertificatePem, SAML2_ASSERTION_ID_ATTRIBUTE);
    assert.ok(verified.ok, verified.output);
    const a = parseStrict(xml).documentElement;
    assert.equal(text(only(only(a, NS.saml2, 'Subject'), NS.saml2, 'NameID')), DEMO_USER);
    assert.equal(text(only(only(only(a, NS.saml2, 'Conditions'), NS.saml2, 'AudienceRestriction'), NS.saml2, 'Audience')), DEMO_RP);
    assert.doesNotMatch(r.stdout + r.stderr, new RegExp(password.replace(/[^\w]/g, '\\$&')), 'the password is not echoed');
  });

  it('--version 2005 --token-type saml11 --digest prints a SAML 1.1 assertion that xmlsec1 verifies', () => {
    const r = token(['--version', '2005', '--token-type', 'saml11', '--digest']);
    assert.equal(r.status, 0, r.stderr);
    const xml = r.stdout.trim();
    assert.match(xml, /^<saml:Assertion /);
    const a = parseStrict(xml).documentElement;
    assert.equal(a.namespaceURI, NS.saml1);
    assert.equal(a.getAttribute('MajorVersion'), '1');
    assert.equal(a.getAttribute('MinorVersion'), '1');
    const verified = verifyWithXmlsec1(xml, signingCertificatePem, SAML11_ASSERTION_NODE, 'AssertionID');
    assert.ok(verified.ok, verified.output);
    const nameIds = a.getElementsByTagNameNS(NS.saml1, 'NameIdentifier');
    assert.ok(nameIds.length > 0);
    assert.equal(text(nameIds[0] as Element), DEMO_USER);
  });

  it('a wrong password exits 1 and prints the fault reason, without a stack trace', () => {
    const r = token([], 'not-the-password\n');
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^sts token: The security token could not be authenticated or authorized\.\s*$/);
    assert.doesNotMatch(r.stderr, STACK);
  });

  it('missing flags exit 2 with usage (no --user, no --applies-to, no --sts)', () => {
    const ca = join(home, 'tls', 'localhost.crt.pem');
    for (const args of [
      ['token', '--sts', `https://localhost:${port}`, '--applies-to', DEMO_RP, '--ca', ca],
      ['token', '--sts', `https://localhost:${port}`, '--user', DEMO_USER, '--ca', ca],
      ['token', '--applies-to', DEMO_RP, '--user', DEMO_USER, '--ca', ca],
    ]) {
      const r = runSts(args, { input: `${password}\n` });
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /--sts, --applies-to and --user are required/);
      assert.match(r.stderr, /usage: sts token/);
      assert.doesNotMatch(r.stderr, STACK);
    }
  });

  it('a bad --version or --token-type exits 2; no password on stdin exits 2', () => {
    assert.equal(token(['--version', '1.4']).status, 2);
    assert.equal(token(['--token-type', 'jwt']).status, 2);
    const empty = token([], '');
    assert.equal(empty.status, 2, empty.stderr);
    assert.match(empty.stderr, /no password on standard input/);
  });

  it('the server is still the one we started (it served every request above)', () => {
    assert.ok(server && server.exit === undefined, `sts serve exited: ${server?.stderr}`);
  });
});
