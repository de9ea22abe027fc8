import { stealActiveKey } from '../support/stolen-key';
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderPinsFile, thumbprintOfPem } from '../../src/rp-validator';
import { fetchMetadata, forgeFrom, issueToken } from '../support/rp-tokens';
import { startTestSts, type TestSts } from '../support/test-sts';
import { freePort, runStsAsync, type CliResult } from '../support/unit-cli';

// `sts verify-token` run as a real process (bin/sts.js) against tokens from an in-process
// Trustbridge: VALID / INVALID with a line per problem, --json, exit codes 0, 1 and 2, and --online
// asking that Trustbridge's ledger (password on standard input).

const RP = 'https://app.cli.rpv.example/';
const OTHER_RP = 'https://other.cli.rpv.example/';
const ALICE = { name: 'alice@cli.rpv.example', password: 'Cli-Alice-Pässwort-1!' };
const RP_ACCOUNT = { name: 'svc@cli.rpv.example', password: 'Cli-Service-Secret-2?' };
const STACK = /\n\s+at\s|\bat [\w.<>]+ \(|\.(?:ts|js):\d+|node_modules/;

describe('cli: sts verify-token', function () {
  this.timeout(120_000);
  let sts: TestSts;
  let dir: string;
  let token: string;
  let forged: string;
  const file = (name: string): string => join(dir, name);
  const verify = (args: readonly string[], input = ''): Promise<CliResult> => runStsAsync(['verify-token', ...args], { input });
  const offline = (tokenFile: string, ...extra: string[]): Promise<CliResult> => verify([tokenFile, '--pins', file('pins.json'), '--audience', RP, ...extra]);
  const online = (tokenFile: string, ...extra: string[]): string[] => [tokenFile, '--pins', file('pins.json'), '--audience', RP, '--online', '--sts', sts.baseUrl, '--user', RP_ACCOUNT.name, '--ca', file('ca.pem'), ...extra];

  before(async () => {
    sts = await startTestSts();
    await sts.addRelyingParty({ appliesTo: RP, tokenLifetimeSeconds: 3600 });
    await sts.addUser({ ...ALICE, claims: [] });
    await sts.addUser({ ...RP_ACCOUNT, claims: [] });
    dir = mkdtempSync(join(tmpdir(), 'trustbridge-verify-token-'));
    token = await issueToken(sts, ALICE, RP);
    forged = forgeFrom(token, await stealActiveKey(sts.instance), 'admin@cli.rpv.example');
    writeFileSync(file('token.xml'), token);
    writeFileSync(file('token.b64'), `${Buffer.from(token).toString('base64')}\n`);
    writeFileSync(file('forged.xml'), forged);
    writeFileSync(file('metadata.xml'), await fetchMetadata(sts));
    writeFileSync(file('ca.pem'), sts.tlsCertificatePem);
    const pem = sts.signingCertificatePem;
    writeFileSync(file('pins.json'), renderPinsFile([{ issuer: sts.instance.config.issuer, thumbprint: thumbprintOfPem(pem), certificatePem: pem, state: 'active', activateAt: null, retireAt: null }]));
    writeFileSync(file('revoked-pins.json'), renderPinsFile([{ issuer: sts.instance.config.issuer, thumbprint: thumbprintOfPem(pem), certificatePem: pem, state: 'revoked', activateAt: null, retireAt: null }]));
  });
  after(async () => {
    await sts?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('VALID: prints the verdict and what the assertion says, exit 0 (pins file, metadata, base64 on stdin)', async () => {
    const byPins = await offline(file('token.xml'));
    assert.equal(byPins.status, 0, byPins.stdout + byPins.stderr);
    const lines = byPins.stdout.split('\n');
    assert.equal(lines[0], 'VALID');
    assert.match(byPins.stdout, new RegExp(`\\n  assertion _[\\w-]+ from ${sts.instance.config.issuer.replace(/[./]/g, '\\$&')} for ${ALICE.name.replace('.', '\\.')}\\n`));
    assert.match(byPins.stdout, new RegExp(`\\n  signed by ${sts.instance.signingKey.thumbprintSha256}\\n`));
    assert.equal(byPins.stderr, '');

    const byMetadata = await verify([file('token.xml'), '--metadata', file('metadata.xml'), '--audience', RP]);
    assert.equal(byMetadata.status, 0, byMetadata.stdout + byMetadata.stderr);
    assert.match(byMetadata.stdout, /^VALID\n/);

    const fromStdin = await verify(['-', '--pins', file('pins.json'), '--audience', RP], Buffer.from(token).toString('base64'));
    assert.equal(fromStdin.status, 0, fromStdin.stdout + fromStdin.stderr);
    assert.equal(fromStdin.stdout, byPins.stdout, 'the same verdict, read from base64 on standard input');
    assert.equal((await offline(file('token.b64'))).status, 0);
  });

  it('INVALID: one line per problem, exit 1', async () => {
    const r = await verify([file('token.xml'), '--pins', file('pins.json'), '--audience', OTHER_RP, '--max-lifetime', '600', '--at', '2099-01-01T00:00:00Z']);
    assert.equal(r.status, 1, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines[0], 'INVALID');
    assert.deepEqual(
      lines.slice(1).map((l) => /^ {2}([\w-]+): /.exec(l)?.[1]),
      ['certificate-expired', 'audience', 'expired', 'lifetime-cap'],
    );
    assert.match(r.stdout, new RegExp(`\\n  audience: the assertion is for ${RP}, not for ${OTHER_RP}\\n`));
    assert.equal(r.stderr, '');
  });

  it('INVALID for a revoked pin, a tampered token, an issuer other than --issuer, and a skew too small (--skew)', async () => {
    const revoked = await verify([file('token.xml'), '--pins', file('revoked-pins.json'), '--audience', RP]);
    assert.equal(revoked.status, 1);
    assert.match(revoked.stdout, /^INVALID\n {2}pin-revoked: the pin for the signing certificate [0-9a-f]{64} is revoked at /);

    writeFileSync(file('tampered.xml'), token.replace(`>${ALICE.name}<`, '>mallory@cli.rpv.example<'));
    const tampered = await offline(file('tampered.xml'));
    assert.equal(tampered.status, 1);
    assert.equal(tampered.stdout, 'INVALID\n  signature: the signed content was altered (digest mismatch)\n');

    const issuer = await offline(file('token.xml'), '--issuer', 'https://idp.elsewhere.example/');
    assert.equal(issuer.status, 1);
    assert.match(issuer.stdout, /^INVALID\n {2}issuer-mismatch: /);

    const notOnOrAfter = /NotOnOrAfter="([^"]+)"/.exec(token)?.[1] as string;
    const late = new Date(Date.parse(notOnOrAfter) + 60_000).toISOString();
    assert.equal((await offline(file('token.xml'), '--at', late)).status, 0, 'within the default 300 s of skew');
    const strict = await offline(file('token.xml'), '--at', late, '--skew', '30');
    assert.equal(strict.status, 1);
    assert.match(strict.stdout, /^INVALID\n {2}expired: /);
  });

  it('--json prints the verdict (valid and invalid) with the same exit codes', async () => {
    const valid = await offline(file('token.xml'), '--json');
    assert.equal(valid.status, 0, valid.stderr);
    const v = JSON.parse(valid.stdout) as { valid: boolean; problems: unknown[]; warnings: unknown[]; assertion: Record<string, unknown> };
    assert.equal(v.valid, true);
    assert.deepEqual(v.problems, []);
    assert.deepEqual(v.warnings, []);
    assert.equal(v.assertion['subject'], ALICE.name);
    assert.equal(v.assertion['issuer'], sts.instance.config.issuer);
    assert.deepEqual(v.assertion['audiences'], [RP]);
    assert.match(String(v.assertion['notOnOrAfter']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(v.assertion['signingKeyThumbprint'], sts.instance.signingKey.thumbprintSha256);

    const invalid = await verify([file('token.xml'), '--pins', file('pins.json'), '--audience', OTHER_RP, '--json']);
    assert.equal(invalid.status, 1);
    const i = JSON.parse(invalid.stdout) as { valid: boolean; problems: Array<{ code: string; message: string }> };
    assert.equal(i.valid, false);
    assert.deepEqual(i.problems.map((p) => p.code), ['audience']);
  });

  it('--online: Trustbridge\'s ledger vouches for a genuine token (exit 0) and not for a Golden SAML forgery (exit 1)', async () => {
    const offlineForgery = await offline(file('forged.xml'));
    assert.equal(offlineForgery.status, 0, 'offline, the forgery signed with the real key passes');

    const genuine = await verify(online(file('token.xml')), `${RP_ACCOUNT.password}\n`);
    assert.equal(genuine.status, 0, genuine.stdout + genuine.stderr);
    assert.match(genuine.stdout, /^VALID\n[\s\S]*\n {2}online check: the issuance ledger holds it\n$/);

    const forgery = await verify(online(file('forged.xml'), '--json'), `${RP_ACCOUNT.password}\n`);
    assert.equal(forgery.status, 1, forgery.stdout + forgery.stderr);
    const verdict = JSON.parse(forgery.stdout) as { valid: boolean; problems: Array<{ code: string; message: string }>; online: { status: string } };
    assert.equal(verdict.valid, false);
    assert.deepEqual(verdict.problems.map((p) => p.code), ['ledger-unknown']);
    assert.equal(verdict.online.status, 'invalid');
    assert.ok(!(genuine.stdout + forgery.stdout + genuine.stderr + forgery.stderr).includes(RP_ACCOUNT.password), 'the password is never printed');
  });

  it('--online with Trustbridge unreachable: INVALID (fail closed, exit 1), or VALID with a warning under --online-fail-open', async () => {
    const port = await freePort();
    const args = (extra: string[] = []): string[] =>
      [file('token.xml'), '--pins', file('pins.json'), '--audience', RP, '--online', '--sts', `https://localhost:${port}`, '--user', RP_ACCOUNT.name, '--ca', file('ca.pem'), ...extra];
    const closed = await verify(args(), `${RP_ACCOUNT.password}\n`);
    assert.equal(closed.status, 1, closed.stderr);
    assert.match(closed.stdout, /^INVALID\n {2}online-unreachable: the online check could not be completed: .*ECONNREFUSED/);
    const open = await verify(args(['--online-fail-open']), `${RP_ACCOUNT.password}\n`);
    assert.equal(open.status, 0, open.stderr);
    assert.match(open.stdout, /^VALID\n {2}warning online-unreachable: /);
  });

  it('usage errors exit 2 with the reason and the usage, without a stack trace', async () => {
    const cases: Array<[string[], RegExp, string?]> = [
      [['--pins', file('pins.json'), '--audience', RP], /give one FILE/],
      [[file('token.xml'), file('token.xml'), '--pins', file('pins.json'), '--audience', RP], /give one FILE/],
      [[file('token.xml'), '--pins', file('pins.json')], /give at least one --audience/],
      [[file('token.xml'), '--audience', RP], /give --pins or --metadata/],
      [[file('token.xml'), '--pins', file('pins.json'), '--audience', RP, '--online', '--user', 'u'], /--online needs --sts and --user/],
      [[file('token.xml'), '--pins', file('pins.json'), '--audience', RP, '--sts', sts.baseUrl], /--sts goes with --online/],
      [[file('token.xml'), '--pins', file('pins.json'), '--audience', RP, '--online-fail-open'], /--online-fail-open goes with --online/],
      [['-', '--pins', file('pins.json'), '--audience', RP, '--online', '--sts', sts.baseUrl, '--user', 'u'], /give the token as a FILE/],
      [[file('token.xml'), '--pins', file('pins.json'), '--audience', RP, '--at', 'yesterday'], /--at must be an ISO 8601 time/],
      [[file('token.xml'), '--pins', file('pins.json'), '--audience', RP, '--skew', '-5'], /--skew must be a whole number/],
      [[file('token.xml'), '--pins', file('pins.json'), '--audience', RP, '--frobnicate'], /unknown option --frobnicate/],
      [online(file('token.xml')), /no password on standard input/, ''],
    ];
    for (const [args, reason, input] of cases) {
      const r = await verify(args, input ?? '');
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, reason);
      assert.match(r.stderr, /usage: sts verify-token FILE/);
      assert.doesNotMatch(r.stderr, STACK);
    }
  });

  it('files it cannot use exit 2 and say which and why, without the usage text', async () => {
    writeFileSync(file('bad-pins.json'), JSON.stringify({ pins: [{ issuer: 'x', certificatePem: 'nope', state: 'active' }] }));
    const cases: Array<[string[], RegExp]> = [
      [[file('missing.xml'), '--pins', file('pins.json'), '--audience', RP], /^sts verify-token: cannot read the token from .*missing\.xml\n$/],
      [[file('token.xml'), '--pins', file('missing.json'), '--audience', RP], /^sts verify-token: cannot read --pins from .*missing\.json\n$/],
      [[file('token.xml'), '--pins', file('bad-pins.json'), '--audience', RP], /^sts verify-token: .*bad-pins\.json: pins\[0\]\.certificatePem is not a PEM X\.509 certificate\n$/],
      [[file('token.xml'), '--metadata', file('token.xml'), '--audience', RP], /^sts verify-token: .*token\.xml: the metadata is not a SAML 2\.0 md:EntityDescriptor\n$/],
    ];
    for (const [args, message] of cases) {
      const r = await verify(args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, message);
    }
  });

  it('a file that is not a token is INVALID (malformed), exit 1', async () => {
    writeFileSync(file('junk.txt'), 'this is not a token\n');
    const r = await offline(file('junk.txt'));
    assert.equal(r.status, 1);
    assert.equal(r.stdout, 'INVALID\n  malformed: the token is neither XML nor base64 of XML\n');
  });

  it('--help describes every option, exit 0', async () => {
    const r = await verify(['--help']);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /^usage: sts verify-token FILE/);
    for (const flag of ['--pins', '--metadata', '--audience', '--max-lifetime', '--skew', '--at', '--issuer', '--online', '--sts', '--user', '--ca', '--online-fail-open', '--json']) {
      assert.match(r.stdout, new RegExp(`\\n  ${flag}(?: VALUE)?\\s+\\S`), flag);
    }
  });
});
