import { strict as assert } from 'node:assert';
import { createPrivateKey, randomBytes, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { deriveSessionTokenKey } from '../../src/aws/credentials/session-token';
import { generateSelfSignedCertificate } from '../../src/keys/certificates';
import { open } from '../../src/keys/sealed-box';
import { certificateThumbprintSha256 } from '../../src/keys/signing-key';
import { initInstance } from '../../src/instance/init-instance';
import { openInstance, openServingInstance } from '../../src/instance/open-instance';
import {
  ACCOUNT,
  exchange,
  expectCredentials,
  mintAssertion,
  PASSWORD as AWS_PASSWORD,
  ROLE_ARN,
  SELF_PROVIDER_ARN,
  startAwsTestSts,
  USER as AWS_USER,
  type AwsTestSts,
  type IssuedCredentials,
} from '../support/aws-sts';
import { httpsRequest } from '../support/https-client';
import { runStsInProcess } from '../support/in-process-cli';
import { recordLogs, recordPassword } from '../support/observed-traffic';
import { bytesSecret, findLeaks, pemSecret, textSecret, type Secret, type Text } from '../support/secret-scan';
import { newTestToken, type TestToken } from '../support/softhsm';
import { postToSts, type PostResult } from '../support/sts-post';
import { startTestSts, type TestSts } from '../support/test-sts';
import { appliesTo, assertionText, pathOf, trustRequest } from '../support/trust-messages';
import { freePort, runStsAsync } from '../support/unit-cli';

// A run through success and failure paths (WS-Trust Issue, Validate, Renew, Cancel and their faults;
// AssumeRoleWithSAML, GetCallerIdentity and their errors; start-up failures; CLI errors; a PKCS#11
// token with a wrong PIN), every log line, response body, error message and CLI output kept, then
// scanned for every secret involved: the private keys' PEM bodies (signing and TLS), the master keys
// (base64 and hex), the AWS session-token keys derived from them, user passwords, the token PIN, the
// AWS secret access keys (allowed only in the response that issued each), and the session tokens
// (in no log).

const RP = 'https://rp.leak.example/';
const HSM_USER = 'hsm-leak@example.com';
const HSM_PASSWORD = `hsm-pw-${randomBytes(6).toString('base64url')}`;
const CLI_PASSWORD = `cli-pw-${randomBytes(6).toString('base64url')}`;
const TLS_PASSPHRASE = `tls-pp-${randomBytes(6).toString('base64url')}`;

const target = (op: 'Validate' | 'Renew' | 'Cancel', content: string): string => `<t:${op}Target>${content}</t:${op}Target>`;

describe('security: no private key, master key, password, PIN or AWS secret in any log line, response, error or CLI output', function () {
  this.timeout(180_000);
  let token: TestToken;
  let aws: AwsTestSts;
  let hsm: TestSts;
  let parent: string;
  const texts: Text[] = [];
  const extraSecrets: Secret[] = [];
  const issued: IssuedCredentials[] = [];

  const said = (where: string, text: string): void => void texts.push({ where, text, isLog: false });
  async function respond(where: string, reply: Promise<PostResult>): Promise<PostResult> {
    const res = await reply;
    said(`${where} (HTTP ${res.status})`, res.body);
    return res;
  }
  /** Runs `fn`, which must fail, and keeps its message and stack. */
  async function failure(where: string, fn: () => Promise<unknown>): Promise<string> {
    try {
      await fn();
    } catch (err) {
      assert.ok(err instanceof Error);
      said(where, `${err.message}\n${err.stack ?? ''}`);
      return err.message;
    }
    assert.fail(`${where}: expected a failure`);
  }
  async function cli(where: string, args: string[], stdin = ''): Promise<number> {
    const run = await runStsInProcess(args, stdin);
    said(`sts ${where}`, run.stdout + run.stderr);
    return run.code;
  }
  async function child(where: string, args: string[], env: Record<string, string>): Promise<number | null> {
    const run = await runStsAsync(args, { env });
    said(`sts ${where} (process)`, run.stdout + run.stderr);
    return run.status;
  }
  const trust = (server: TestSts, where: string, requestType: 'Issue' | 'Validate' | 'Renew' | 'Cancel', rstBody: string, user: string, password: string) => {
    const req = trustRequest({ version: '1.3', username: user, password, requestType, rstBody });
    return respond(`${where}: ${requestType}`, postToSts(`${server.baseUrl}${pathOf('1.3')}`, { ca: server.tlsCertificatePem, headers: req.headers, body: req.body }));
  };

  before(async () => {
    token = newTestToken();
    parent = mkdtempSync(join(tmpdir(), 'trustbridge-leak-'));
    aws = await startAwsTestSts();
    await aws.addRelyingParty({ appliesTo: RP, releasedClaims: [] });
    hsm = await startTestSts({ signingKeyCustody: token.custody });
    // The run-wide scan (no-secret-leak) checks these too.
    recordLogs(aws.logs);
    recordLogs(hsm.logs);
    recordPassword(AWS_PASSWORD, HSM_PASSWORD, CLI_PASSWORD);
    await hsm.addUser({ name: HSM_USER, password: HSM_PASSWORD, claims: [] });
    await hsm.addRelyingParty({ appliesTo: RP, releasedClaims: [] });
  });
  after(async () => {
    await aws?.stop();
    await hsm?.stop();
    rmSync(parent, { recursive: true, force: true });
  });

  it('WS-Trust Issue, Validate, Renew, Cancel and their faults, with sealed and with token keys', async () => {
    for (const [name, server, user, password] of [
      ['sealed', aws, AWS_USER, AWS_PASSWORD],
      ['pkcs11', hsm, HSM_USER, HSM_PASSWORD],
    ] as const) {
      const ok = await trust(server, name, 'Issue', appliesTo(RP), user, password);
      assert.equal(ok.status, 200, ok.body);
      const xml = assertionText(ok.body);
      assert.notEqual((await trust(server, name, 'Issue', appliesTo(RP), user, `${password}-wrong`)).status, 200);
      assert.notEqual((await trust(server, name, 'Issue', appliesTo(RP), `nobody-${user}`, password)).status, 200);
      assert.notEqual((await trust(server, name, 'Issue', appliesTo('https://unknown.example/'), user, password)).status, 200);
      assert.equal((await trust(server, name, 'Validate', target('Validate', xml), user, password)).status, 200);
      const tampered = xml.replace('<Audience>', '<Audience>x');
      assert.match((await trust(server, name, 'Validate', target('Validate', tampered), user, password)).body, /status\/invalid/);
      assert.equal((await trust(server, name, 'Renew', target('Renew', xml), user, password)).status, 200);
      assert.notEqual((await trust(server, name, 'Renew', target('Renew', tampered), user, password)).status, 200);
      assert.equal((await trust(server, name, 'Cancel', target('Cancel', xml), user, password)).status, 200);
      assert.notEqual((await trust(server, name, 'Renew', target('Renew', xml), user, password)).status, 200, 'a cancelled token does not renew');
      assert.notEqual((await trust(server, name, 'Validate', '', user, password)).status, 200);
      const malformed = await respond(`${name}: malformed`, postToSts(`${server.baseUrl}${pathOf('1.3')}`, { ca: server.tlsCertificatePem, headers: { 'Content-Type': 'application/soap+xml' }, body: '<s:Envelope><unclosed>' }));
      assert.notEqual(malformed.status, 200);
      const metadata = await httpsRequest(`${server.baseUrl}/FederationMetadata/2007-06/FederationMetadata.xml`, { ca: server.tlsCertificatePem });
      assert.equal(metadata.status, 200);
      said(`${name}: metadata`, metadata.body);
    }
  });

  it('AssumeRoleWithSAML (our own token and an external IdP), GetCallerIdentity, and their errors', async () => {
    const ours = await aws.issueAwsToken();
    const own = await respond('AssumeRoleWithSAML (trustbridge)', exchange(aws, ours, { principalArn: SELF_PROVIDER_ARN }));
    const external = mintAssertion({ key: aws.externalKey });
    const theirs = await respond('AssumeRoleWithSAML (external)', exchange(aws, external.xml));
    for (const res of [own, theirs]) {
      const credentials = expectCredentials(res);
      issued.push(credentials);
      // The response that issues a secret carries it, once; it is a leak anywhere else.
      const at = texts.findIndex((t) => t.text === res.body);
      assert.equal(res.body.split(credentials.secretAccessKey).length, 2);
      texts[at] = { ...(texts[at] as Text), text: res.body.replace(credentials.secretAccessKey, '<the issued secret>') };
    }
    assert.notEqual((await respond('AssumeRoleWithSAML replay', exchange(aws, external.xml))).status, 200);
    assert.notEqual((await respond('AssumeRoleWithSAML not base64', aws.query({ Action: 'AssumeRoleWithSAML', RoleArn: ROLE_ARN, PrincipalArn: SELF_PROVIDER_ARN, SAMLAssertion: '%%%' }))).status, 200);
    assert.notEqual((await respond('AssumeRoleWithSAML forged', exchange(aws, ours.replace('<Audience>', '<Audience>x'), { principalArn: SELF_PROVIDER_ARN }))).status, 200);
    assert.notEqual((await respond('AssumeRoleWithSAML wrong role', exchange(aws, mintAssertion({ key: aws.externalKey }).xml, { roleArn: `arn:aws:iam::${ACCOUNT}:role/Nobody` }))).status, 200);
    assert.notEqual((await respond('AssumeRoleWithSAML bad duration', exchange(aws, mintAssertion({ key: aws.externalKey }).xml, { extra: { DurationSeconds: '5' } }))).status, 200);
    assert.notEqual((await respond('AssumeRoleWithSAML expired', exchange(aws, mintAssertion({ key: aws.externalKey, issueInstant: new Date(Date.now() - 3_600_000) }).xml))).status, 200);
    const body = 'Action=GetCallerIdentity&Version=2011-06-15';
    const call = async (where: string, credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }) => {
      const signer = new SignatureV4({ credentials, region: 'us-east-1', service: 'sts', sha256: Hash.bind(null, 'sha256') });
      const signed = await signer.sign(
        new HttpRequest({ method: 'POST', protocol: 'https:', hostname: 'localhost', port: aws.port, path: '/', headers: { host: `localhost:${aws.port}`, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body }),
      );
      return respond(where, postToSts(`${aws.baseUrl}/`, { ca: aws.tlsCertificatePem, headers: signed.headers as Record<string, string>, body }));
    };
    const first = issued[0] as IssuedCredentials;
    assert.equal((await call('GetCallerIdentity', first)).status, 200);
    assert.equal((await call('GetCallerIdentity wrong secret', { ...first, secretAccessKey: randomBytes(30).toString('base64') })).status, 403);
    assert.equal((await call('GetCallerIdentity tampered token', { ...first, sessionToken: `${first.sessionToken.slice(0, -4)}AAAA` })).status, 403);
    assert.equal((await call('GetCallerIdentity no token', { accessKeyId: first.accessKeyId, secretAccessKey: first.secretAccessKey })).status, 403);
  });

  it('start-up failures: a wrong PIN (in process and as sts serve), production refusals, a wrong master key or TLS passphrase', async () => {
    const wrongPin = `${token.pin}-wrong`;
    extraSecrets.push(textSecret('a wrong PKCS#11 PIN', wrongPin));
    process.env[token.pinEnv] = wrongPin;
    try {
      assert.match(await failure('open with a wrong PIN', () => openServingInstance(hsm.home)), /refused the PIN/);
    } finally {
      process.env[token.pinEnv] = token.pin;
    }
    assert.equal(await child('serve with a wrong PIN', ['serve', '--home', hsm.home, '--workers', '1', '--port', String(await freePort())], { [token.pinEnv]: wrongPin }), 1);
    assert.equal(await child('keys rotate with a wrong PIN', ['keys', 'rotate', '--home', hsm.home], { [token.pinEnv]: wrongPin }), 1);

    // A production instance with a signing key planted in clear and an encrypted TLS key opened with the wrong passphrase.
    const home = join(parent, 'production');
    await initInstance(home, { demo: true, port: 0 });
    const planted = generateSelfSignedCertificate({ commonName: 'Planted', validDays: 30 });
    extraSecrets.push(pemSecret('a signing key planted in clear', planted.privateKeyPem));
    const instance = await openInstance(home);
    try {
      const thumbprint = certificateThumbprintSha256(new X509Certificate(planted.certificatePem).raw);
      await instance.store.signingKeys.add({ thumbprint, state: 'pending', certificatePem: planted.certificatePem, sealedPrivateKey: planted.privateKeyPem, createdAt: new Date() });
    } finally {
      await instance.close();
    }
    extraSecrets.push(pemSecret('the production instance TLS key', readFileSync(join(home, 'tls/localhost.key.pem'), 'utf8')));
    extraSecrets.push(bytesSecret('the production instance master key', Buffer.from(readFileSync(join(home, 'master.key'), 'utf8').trim(), 'base64')));
    extraSecrets.push(textSecret('the demo password', /password: (\S+)/.exec(readFileSync(join(home, 'demo-credentials.txt'), 'utf8'))?.[1] as string));
    const config = JSON.parse(readFileSync(join(home, 'config.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(home, 'config.json'), JSON.stringify({ ...config, mode: 'production' }));
    assert.match(await failure('production refusal', () => openServingInstance(home)), /is stored in clear in the database/);
    assert.equal(await child('serve in production', ['serve', '--home', home, '--workers', '2', '--port', String(await freePort())], {}), 1);
    const keyFile = join(home, 'tls/localhost.key.pem');
    writeFileSync(keyFile, createPrivateKey(readFileSync(keyFile, 'utf8')).export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: TLS_PASSPHRASE }));
    writeFileSync(join(home, 'config.json'), JSON.stringify({ ...config, mode: 'development' }));
    process.env['STS_TLS_KEY_PASSPHRASE'] = `${TLS_PASSPHRASE}-wrong`;
    extraSecrets.push(textSecret('the TLS passphrase', TLS_PASSPHRASE), textSecret('a wrong TLS passphrase', `${TLS_PASSPHRASE}-wrong`));
    try {
      assert.match(await failure('wrong TLS passphrase', () => openServingInstance(home)), /does not open with the passphrase from STS_TLS_KEY_PASSPHRASE/);
    } finally {
      delete process.env['STS_TLS_KEY_PASSPHRASE'];
    }
    const wrongMasterKey = randomBytes(32);
    extraSecrets.push(bytesSecret('a wrong master key', wrongMasterKey));
    process.env['STS_MASTER_KEY'] = wrongMasterKey.toString('base64');
    try {
      assert.match(await failure('wrong master key', () => openServingInstance(aws.home)), /could not be opened: wrong master key/);
      process.env['STS_MASTER_KEY'] = wrongMasterKey.subarray(0, 20).toString('base64');
      assert.match(await failure('short master key', () => openServingInstance(aws.home)), /STS_MASTER_KEY must hold 32 bytes/);
    } finally {
      delete process.env['STS_MASTER_KEY'];
    }
  });

  it('CLI errors: import refused or failing, user add twice, bad PKCS#11 flags', async () => {
    const pair = generateSelfSignedCertificate({ commonName: 'To import', validDays: 30 });
    const other = generateSelfSignedCertificate({ commonName: 'Other', validDays: 30 });
    extraSecrets.push(pemSecret('a key offered to sts keys import', pair.privateKeyPem), pemSecret('a mismatched key offered to sts keys import', other.privateKeyPem));
    writeFileSync(join(parent, 'cert.pem'), pair.certificatePem);
    writeFileSync(join(parent, 'key.pem'), pair.privateKeyPem);
    writeFileSync(join(parent, 'other.pem'), other.privateKeyPem);
    writeFileSync(join(parent, 'garbage.pem'), `${pair.privateKeyPem.slice(0, 400)}garbage`);
    const importing = (home: string, key: string) => ['keys', 'import', '--cert', join(parent, 'cert.pem'), '--key', join(parent, key), '--i-understand-the-risk', '--home', home];
    assert.equal(await cli('keys import (token)', importing(hsm.home, 'key.pem')), 1);
    assert.equal(await cli('keys import (mismatched)', importing(aws.home, 'other.pem')), 1);
    assert.equal(await cli('keys import (garbage)', importing(aws.home, 'garbage.pem')), 1);
    assert.equal(await cli('keys import (no risk flag)', ['keys', 'import', '--cert', join(parent, 'cert.pem'), '--key', join(parent, 'key.pem'), '--home', aws.home]), 1);
    assert.equal(await cli('user add', ['user', 'add', 'cli@example.com', '--home', aws.home], `${CLI_PASSWORD}\n`), 0);
    assert.equal(await cli('user add twice', ['user', 'add', 'cli@example.com', '--home', aws.home], `${CLI_PASSWORD}\n`), 1);
    assert.equal(await cli('init with half the PKCS#11 flags', ['init', '--home', join(parent, 'half'), '--pkcs11-module', '/usr/lib/softhsm/libsofthsm2.so', '--pkcs11-pin-env', token.pinEnv]), 2);
    assert.equal(await cli('init with an unknown token', ['init', '--home', join(parent, 'unknown'), '--pkcs11-module', '/usr/lib/softhsm/libsofthsm2.so', '--pkcs11-token', 'nope', '--pkcs11-pin-env', token.pinEnv]), 1);
    assert.equal(await cli('keys rotate (token)', ['keys', 'rotate', '--home', hsm.home]), 0);
  });

  it('the scanner finds each kind of secret when planted, in any of its forms, and nothing in clean text', () => {
    const key = generateSelfSignedCertificate({ commonName: 'planted', validDays: 1 }).privateKeyPem;
    const master = randomBytes(32);
    const secrets = [pemSecret('pem', key), bytesSecret('master', master), textSecret('pin', 'pin-Planted-1'), textSecret('password', 'p<w>&"d'), textSecret('session token', 'FQoGZXIvYXdzEplanted', 'logs')];
    const body = key.replace(/-----[^-]+-----/g, '').replace(/\s/g, '');
    const planted: Text[] = [
      { where: 'a log line with the PEM, JSON-escaped', text: JSON.stringify({ msg: 'oops', key }), isLog: true },
      { where: 'a response with a piece of the key, re-wrapped', text: `<x>${body.slice(300, 380).replace(/.{16}/g, '$&\n')}</x>`, isLog: false },
      { where: 'an error with the master key in hex', text: `bad key ${master.toString('hex')}`, isLog: false },
      { where: 'a log line with the master key in base64url', text: `{"k":"${master.toString('base64url')}"}`, isLog: true },
      { where: 'an error with the PIN', text: 'C_Login(pin-Planted-1) failed', isLog: false },
      { where: 'a response with the password XML-escaped', text: '<p>p&lt;w&gt;&amp;&quot;d</p>', isLog: false },
      { where: 'a log line with a session token', text: '{"token":"FQoGZXIvYXdzEplanted"}', isLog: true },
      { where: 'a response with the session token (its own response: allowed)', text: '<SessionToken>FQoGZXIvYXdzEplanted</SessionToken>', isLog: false },
      { where: 'clean', text: `{"msg":"request served","thumbprint":"${randomBytes(32).toString('hex')}"}`, isLog: true },
    ];
    assert.deepEqual(
      findLeaks(planted, secrets).map((l) => `${l.where}: ${l.kind}`),
      [
        'a log line with the PEM, JSON-escaped: pem',
        'a response with a piece of the key, re-wrapped: pem',
        'an error with the master key in hex: master',
        'a log line with the master key in base64url: master',
        'an error with the PIN: pin',
        'a response with the password XML-escaped: password',
        'a log line with a session token: session token',
      ],
    );
  });

  it('finds no secret in any of it', async () => {
    const secrets: Secret[] = [...extraSecrets];
    for (const server of [aws, hsm]) {
      const masterKey = server.instance.masterKey;
      secrets.push(bytesSecret(`${server === aws ? 'sealed' : 'pkcs11'} instance master key`, masterKey));
      secrets.push(bytesSecret('an AWS session-token key', deriveSessionTokenKey(masterKey, server.instance.config.aws.sessionTokenKeyId)));
      secrets.push(pemSecret('a TLS private key', readFileSync(join(server.home, server.instance.config.tls.privateKeyFile), 'utf8')));
    }
    const sealedKeys = (await aws.instance.store.signingKeys.list()).filter((r) => r.sealedPrivateKey.startsWith('v1.'));
    assert.ok(sealedKeys.length > 0);
    for (const record of sealedKeys) {
      secrets.push(pemSecret(`signing key ${record.thumbprint.slice(0, 12)}`, open(record.sealedPrivateKey, aws.instance.masterKey, `trustbridge:signing-key:${record.thumbprint}`).toString('utf8')));
    }
    const tokenKeys = (await hsm.instance.store.signingKeys.list()).filter((r) => r.sealedPrivateKey.startsWith('pkcs11:'));
    assert.equal(tokenKeys.length, 2, 'the token instance has its first key and the one rotated in; no PEM of them exists to leak');
    secrets.push(
      textSecret('a user password', AWS_PASSWORD),
      textSecret('a user password', HSM_PASSWORD),
      textSecret('a user password', CLI_PASSWORD),
      textSecret('the PKCS#11 PIN', token.pin),
    );
    assert.equal(issued.length, 2);
    for (const c of issued) secrets.push(textSecret('an AWS secret access key', c.secretAccessKey), textSecret('an AWS session token', c.sessionToken, 'logs'));

    const logs: Text[] = [aws, hsm].flatMap((server) => server.logs.map((r, i) => ({ where: `log record #${i} of ${server.home} (${r.msg})`, text: JSON.stringify({ level: r.level, msg: r.msg, ...r.fields }), isLog: true })));
    assert.ok(logs.length > 30, `${logs.length} log records`);
    assert.ok(texts.length > 50, `${texts.length} responses, errors and outputs`);
    assert.ok(logs.some((l) => l.text.includes('"request failed"')) && logs.some((l) => l.text.includes('"request served"')));
    // Control: each secret as collected here is found when it does appear.
    const controls = secrets.map((secret, i) => ({ where: `control ${i}`, text: `{"x":"${secret.forms[0] ?? ''}"}`, isLog: true }));
    assert.deepEqual(new Set(findLeaks(controls, secrets).map((l) => l.where)), new Set(controls.map((c) => c.where)));
    assert.deepEqual(findLeaks([...texts, ...logs], secrets), []);
  });
});
