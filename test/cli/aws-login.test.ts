import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { STACK_TRACE } from '../support/ext-trust';
import { runStsInProcess as sts, type InProcessRun as CliRun } from '../support/in-process-cli';
import { recordLogs, recordPassword } from '../support/observed-traffic';
import { startTestSts, type TestSts } from '../support/test-sts';

// `sts aws login` in-process against a real Trustbridge serving the instance the CLI set up: WS-Trust
// for a token for AWS, AssumeRoleWithSAML, then export lines or an AWS CLI profile whose credentials
// the AWS SDK uses for GetCallerIdentity.

const ACCOUNT = '123456789012';
const SELF_ARN = `arn:aws:iam::${ACCOUNT}:saml-provider/trustbridge`;
const DEVELOPERS = `arn:aws:iam::${ACCOUNT}:role/Developers`;
const AUDITORS = `arn:aws:iam::${ACCOUNT}:role/Auditors`;
const PASSWORDS = { alice: 'aws-login-alice-pw-1', bob: 'aws-login-bob-pw-2', carol: 'aws-login-carol-pw-3' } as const;
const EXPORTS =
  /^export AWS_ACCESS_KEY_ID=(ASIA[A-Z2-7]{16})\nexport AWS_SECRET_ACCESS_KEY=([A-Za-z0-9+/]{40})\nexport AWS_SESSION_TOKEN=([A-Za-z0-9+/=]+)\nexport AWS_CREDENTIAL_EXPIRATION=(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)\n$/;

interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
}

describe('cli: sts aws login (in-process, against a running Trustbridge)', function () {
  this.timeout(60_000);
  let dir: string;
  let home: string;
  let ca: string;
  let server: TestSts;
  let agent: Agent;

  const login = (user: keyof typeof PASSWORDS, extra: readonly string[] = [], password: string = PASSWORDS[user]) =>
    sts(['aws', 'login', '--sts', server.baseUrl, '--user', user, '--ca', ca, ...extra], `${password}\n`);
  const whoAmI = async (credentials: Credentials) =>
    new STSClient({ endpoint: server.baseUrl, region: 'us-east-1', credentials, maxAttempts: 1, requestHandler: { httpsAgent: agent } }).send(
      new GetCallerIdentityCommand({}),
    );
  const fromExports = (stdout: string): Credentials & { expiration: Date } => {
    const m = EXPORTS.exec(stdout);
    assert.ok(m, `four export lines, got:\n${stdout}`);
    return { accessKeyId: m[1] as string, secretAccessKey: m[2] as string, sessionToken: m[3] as string, expiration: new Date(m[4] as string) };
  };
  const expectFailure = (r: CliRun, stderr: string | RegExp, code = 1) => {
    assert.equal(r.code, code, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
    if (typeof stderr === 'string') assert.equal(r.stderr, stderr);
    else assert.match(r.stderr, stderr);
    assert.doesNotMatch(r.stderr, STACK_TRACE);
    assert.doesNotMatch(r.stdout + r.stderr, /AWS_SECRET_ACCESS_KEY|ASIA[A-Z2-7]{16}/);
    for (const p of Object.values(PASSWORDS)) assert.ok(!(r.stdout + r.stderr).includes(p), 'no password echoed');
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trustbridge-cli-aws-login-'));
    home = join(dir, 'instance');
    const trust = join(dir, 'trust.json');
    writeFileSync(trust, JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Federated: SELF_ARN }, Action: 'sts:AssumeRoleWithSAML' }] }));
    const steps: [string[], string?][] = [
      [['init', '--home', home]],
      [['aws', 'role', 'add', 'Developers', '--home', home, '--trust-policy', trust]],
      [['aws', 'role', 'add', 'Auditors', '--home', home, '--trust-policy', trust]],
      [['user', 'add', 'alice', '--home', home, '--aws-role', 'Developers'], `${PASSWORDS.alice}\n`],
      [['user', 'add', 'bob', '--home', home, '--aws-role', 'Developers', '--aws-role', 'Auditors'], `${PASSWORDS.bob}\n`],
      [['user', 'add', 'carol', '--home', home], `${PASSWORDS.carol}\n`],
    ];
    for (const [args, stdin] of steps) {
      const r = await sts(args, stdin);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    }
    server = await startTestSts({ home });
    recordLogs(server.logs);
    recordPassword(...Object.values(PASSWORDS));
    ca = join(home, 'tls', 'localhost.crt.pem');
    agent = new Agent({ ca: server.tlsCertificatePem, keepAlive: false });
  });
  after(async () => {
    agent?.destroy();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints four export lines whose credentials work for GetCallerIdentity through the AWS SDK', async () => {
    const started = Date.now();
    const r = await login('alice');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    const c = fromExports(r.stdout);
    const expiresIn = c.expiration.getTime() - started;
    assert.ok(expiresIn >= 3599_000 && expiresIn <= 3610_000, `expires in ${expiresIn} ms (default one hour)`);
    const who = await whoAmI(c);
    assert.equal(who.Account, ACCOUNT);
    assert.equal(who.Arn, `arn:aws:sts::${ACCOUNT}:assumed-role/Developers/alice`);
    assert.match(who.UserId ?? '', /^AROA[A-Z2-7]{17}:alice$/);
  });

  it('--duration 900 asks for a 15-minute session', async () => {
    const started = Date.now();
    const r = await login('alice', ['--duration', '900']);
    assert.equal(r.code, 0, r.stderr);
    const expiresIn = fromExports(r.stdout).expiration.getTime() - started;
    assert.ok(expiresIn >= 899_000 && expiresIn <= 910_000, `expires in ${expiresIn} ms`);
  });

  it('--duration over the role\'s maximum exits 1 with AWS\'s error code and message', async () => {
    expectFailure(await login('alice', ['--duration', '3601']), 'sts aws login: ValidationError: The requested DurationSeconds exceeds the MaxSessionDuration set for this role.\n');
  });

  it('with two roles granted and no --role, lists both on stdout and exits 1', async () => {
    const r = await login('bob');
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, `${DEVELOPERS}\n${AUDITORS}\n`);
    assert.equal(r.stderr, 'sts aws login: several roles are granted; choose one with --role\n');
  });

  it('--role picks one of them', async () => {
    const r = await login('bob', ['--role', AUDITORS]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await whoAmI(fromExports(r.stdout))).Arn, `arn:aws:sts::${ACCOUNT}:assumed-role/Auditors/bob`);
  });

  it('--role of a role not granted exits 1 naming it, and lists the roles that are', async () => {
    const r = await login('alice', ['--role', AUDITORS]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, `${DEVELOPERS}\n`);
    assert.equal(r.stderr, `sts aws login: ${AUDITORS} is not granted to alice\n`);
  });

  it('a user with no AWS role exits 1 saying so', async () => {
    expectFailure(await login('carol'), 'sts aws login: the token grants no AWS role (the user has no Role attribute)\n');
  });

  it('a wrong password exits 1 with the fault reason and no stack trace', async () => {
    expectFailure(await login('alice', [], 'not-the-password'), 'sts aws login: The security token could not be authenticated or authorized.\n');
  });

  it('an unknown user exits 1 with the same reason (no user enumeration)', async () => {
    const r = await sts(['aws', 'login', '--sts', server.baseUrl, '--user', 'mallory', '--ca', ca], 'whatever\n');
    expectFailure(r, 'sts aws login: The security token could not be authenticated or authorized.\n');
  });

  it('without --ca the STS\'s self-signed TLS certificate is not trusted: exit 1, no stack trace', async () => {
    const r = await sts(['aws', 'login', '--sts', server.baseUrl, '--user', 'alice'], `${PASSWORDS.alice}\n`);
    expectFailure(r, /^sts aws login: .*(self[- ]signed|certificate|verify).*\n$/i);
  });

  it('no password on stdin, or no --sts / --user, is a usage error (exit 2)', async () => {
    expectFailure(await sts(['aws', 'login', '--sts', server.baseUrl, '--user', 'alice', '--ca', ca], ''), /^sts aws login: no password on standard input\n/, 2);
    expectFailure(await sts(['aws', 'login', '--user', 'alice'], 'pw\n'), /^sts aws login: --sts and --user are required\n/, 2);
    expectFailure(await sts(['aws', 'login', '--sts', server.baseUrl], 'pw\n'), /^sts aws login: --sts and --user are required\n/, 2);
  });

  describe('--profile', () => {
    const section = (ini: string, name: string): Record<string, string> | undefined => {
      const m = new RegExp(`^\\[${name}\\]\\n((?:[^\\[\\n].*\\n?)*)`, 'm').exec(ini);
      if (!m) return undefined;
      return Object.fromEntries(
        (m[1] as string)
          .split('\n')
          .filter((l) => l.includes('='))
          .map((l) => [l.slice(0, l.indexOf('=')).trim(), l.slice(l.indexOf('=') + 1).trim()] as [string, string]),
      );
    };

    it('writes a new credentials file (mode 0600, in a directory it creates) whose profile works', async () => {
      const file = join(dir, 'new-aws', 'credentials');
      const r = await login('alice', ['--profile', 'dev', '--credentials-file', file]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`^wrote credentials for arn:aws:sts::${ACCOUNT}:assumed-role/Developers/alice to profile dev in ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\(expire \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ\\)\\n$`));
      assert.doesNotMatch(r.stdout, /ASIA|aws_secret/);
      assert.equal(statSync(file).mode & 0o777, 0o600);
      const dev = section(readFileSync(file, 'utf8'), 'dev');
      assert.ok(dev);
      assert.deepEqual(Object.keys(dev), ['aws_access_key_id', 'aws_secret_access_key', 'aws_session_token', 'x_security_token_expires']);
      const who = await whoAmI({ accessKeyId: dev['aws_access_key_id'] as string, secretAccessKey: dev['aws_secret_access_key'] as string, sessionToken: dev['aws_session_token'] as string });
      assert.equal(who.Arn, `arn:aws:sts::${ACCOUNT}:assumed-role/Developers/alice`);
    });

    it('replaces only its own section of an existing file, keeps the others verbatim, and makes the file 0600', async () => {
      const file = join(dir, 'existing-credentials');
      const defaultSection = '[default]\naws_access_key_id = AKIAKEEPKEEPKEEPKEEP\naws_secret_access_key = keep-me-secret\n';
      const otherSection = '[other]\nregion = eu-west-1\n';
      writeFileSync(file, `${defaultSection}\n[dev]\naws_access_key_id = OLDOLD\naws_secret_access_key = OLDSECRET\naws_session_token = OLDTOKEN\n\n${otherSection}`, { mode: 0o644 });
      const r = await login('bob', ['--role', DEVELOPERS, '--profile', 'dev', '--credentials-file', file]);
      assert.equal(r.code, 0, r.stderr);
      const ini = readFileSync(file, 'utf8');
      assert.ok(ini.startsWith(defaultSection), ini);
      assert.ok(ini.includes(otherSection), ini);
      assert.doesNotMatch(ini, /OLD/);
      assert.equal((ini.match(/^\[dev\]$/gm) ?? []).length, 1);
      assert.deepEqual(section(ini, 'default'), { aws_access_key_id: 'AKIAKEEPKEEPKEEPKEEP', aws_secret_access_key: 'keep-me-secret' });
      const dev = section(ini, 'dev');
      assert.match(dev?.['aws_access_key_id'] ?? '', /^ASIA[A-Z2-7]{16}$/);
      assert.equal(statSync(file).mode & 0o777, 0o600);
      const who = await whoAmI({ accessKeyId: dev?.['aws_access_key_id'] as string, secretAccessKey: dev?.['aws_secret_access_key'] as string, sessionToken: dev?.['aws_session_token'] as string });
      assert.equal(who.Arn, `arn:aws:sts::${ACCOUNT}:assumed-role/Developers/bob`);
    });

    it('a --credentials-file whose directory cannot be made (a path through a plain file): exit 1 naming why, nothing written, no credentials printed', async () => {
      const plain = join(dir, 'plain-file');
      writeFileSync(plain, 'not a directory\n');
      const file = join(plain, 'aws', 'credentials');
      const r = await login('alice', ['--profile', 'dev', '--credentials-file', file]);
      expectFailure(r, /^sts aws login: ENOTDIR: not a directory, mkdir '[^'\n]+'\n$/);
      assert.equal(r.stdout, '');
      assert.equal(readFileSync(plain, 'utf8'), 'not a directory\n');
    });

    it('a profile name that is not a plain name is refused and the file is not touched', async () => {
      const file = join(dir, 'untouched-credentials');
      writeFileSync(file, '[default]\nregion = us-east-1\n');
      const r = await login('alice', ['--profile', 'dev]\n[default', '--credentials-file', file]);
      expectFailure(r, 'sts aws login: a profile name is 1 to 64 letters, digits, . _ or -\n');
      assert.equal(readFileSync(file, 'utf8'), '[default]\nregion = us-east-1\n');
    });
  });
});
