import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { AwsError } from '../../../../src/aws/aws-error';
import type { SessionClaims } from '../../../../src/aws/credentials/session-claims';
import { deriveSessionTokenKey, SessionTokenSealer } from '../../../../src/aws/credentials/session-token';
import { newRoleId, newTemporaryCredentials } from '../../../../src/aws/credentials/temporary-credentials';

const masterKey = randomBytes(32);
const k1 = deriveSessionTokenKey(masterKey, 'k1');
const k2 = deriveSessionTokenKey(masterKey, 'k2');

function claims(overrides: Partial<SessionClaims> = {}): SessionClaims {
  return {
    accessKeyId: 'ASIAEXAMPLE234567ABC',
    secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    accountId: '123456789012',
    roleArn: 'arn:aws:iam::123456789012:role/Deployer',
    roleId: 'AROAEXAMPLEROLEID2345',
    roleSessionName: 'alice@example.com',
    providerArn: 'arn:aws:iam::123456789012:saml-provider/Trustbridge',
    issuedAt: new Date('2026-11-22T00:00:00.000Z'),
    expiration: new Date('2026-11-22T01:00:00.000Z'),
    sourceIdentity: 'alice',
    tags: [
      { key: 'Project', value: 'Unicorn' },
      { key: 'CostCenter', value: '12345' },
    ],
    transitiveTagKeys: ['Project'],
    sessionPolicy: '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}',
    policyArns: ['arn:aws:iam::aws:policy/ReadOnlyAccess'],
    ...overrides,
  };
}

/** Runs `fn`, expects AWS's InvalidClientTokenId, and checks that nothing of the token's content leaks into it. */
function refused(fn: () => unknown, secret = claims().secretAccessKey): AwsError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof AwsError, `expected an AwsError, got ${String(caught)}`);
  assert.equal(caught.code, 'InvalidClientTokenId');
  assert.equal(caught.status, 403);
  assert.equal(caught.message, 'The security token included in the request is invalid.');
  const text = `${caught.message} ${caught.logDetail ?? ''} ${caught.stack ?? ''}`;
  assert.ok(!text.includes(secret), 'the error contains the secret');
  assert.ok(!text.includes(k1.toString('base64')) && !text.includes(k1.toString('hex')), 'the error contains the key');
  return caught;
}

describe('aws/credentials deriveSessionTokenKey', () => {
  it('is 32 bytes, the same for the same master key and key id, different otherwise', () => {
    assert.equal(k1.length, 32);
    assert.deepEqual(deriveSessionTokenKey(Buffer.from(masterKey), 'k1'), k1);
    assert.notDeepEqual(k1, k2);
    assert.notDeepEqual(deriveSessionTokenKey(randomBytes(32), 'k1'), k1);
  });

  it('is HKDF-SHA256 with the documented info (RFC 5869 by hand)', async () => {
    const { createHmac } = await import('node:crypto');
    const prk = createHmac('sha256', Buffer.alloc(32)).update(masterKey).digest();
    const okm = createHmac('sha256', prk).update(Buffer.concat([Buffer.from('trustbridge aws session token k1'), Buffer.from([1])])).digest();
    assert.deepEqual(k1, okm);
  });

  it('refuses a master key that is not 32 bytes and a key id that cannot go into a token', () => {
    assert.throws(() => deriveSessionTokenKey(randomBytes(16), 'k1'), /32 bytes/);
    assert.throws(() => deriveSessionTokenKey(masterKey, ''), /key id/);
    assert.throws(() => deriveSessionTokenKey(masterKey, 'a'.repeat(65)), /key id/);
    assert.throws(() => deriveSessionTokenKey(masterKey, 'ké'), /key id/);
  });
});

describe('aws/credentials SessionTokenSealer', () => {
  const sealer = new SessionTokenSealer({ currentKeyId: 'k1', keys: new Map([['k1', k1]]) });

  it('round-trips every claim', () => {
    const c = claims();
    assert.deepEqual(sealer.open(sealer.seal(c)), c);
  });

  it('round-trips the empty and null cases', () => {
    const c = claims({ sourceIdentity: null, sessionPolicy: null, tags: [], transitiveTagKeys: [], policyArns: [] });
    assert.deepEqual(sealer.open(sealer.seal(c)), c);
  });

  it('round-trips non-ASCII text', () => {
    const c = claims({ roleSessionName: 'zoë', tags: [{ key: 'Name', value: 'Zoë Ångström ✓' }] });
    assert.deepEqual(sealer.open(sealer.seal(c)), c);
  });

  it('is standard base64 of version 1 | key id | 12-byte IV | ciphertext | 16-byte tag, well under 2 KB', () => {
    const token = sealer.seal(claims());
    assert.match(token, /^[A-Za-z0-9+/]+={0,2}$/);
    const bytes = Buffer.from(token, 'base64');
    assert.equal(bytes[0], 1);
    assert.equal(bytes[1], 2);
    assert.equal(bytes.toString('latin1', 2, 4), 'k1');
    assert.ok(token.length < 1024, `token is ${token.length} characters`);
    // A session without a policy (the usual case) is about half that.
    const plain = sealer.seal(claims({ sessionPolicy: null, tags: [], transitiveTagKeys: [], policyArns: [] }));
    assert.ok(plain.length < 600, `token is ${plain.length} characters`);
  });

  it('does not carry the secret or claims in the clear, and uses a fresh IV each time', () => {
    const c = claims();
    const token = sealer.seal(c);
    const bytes = Buffer.from(token, 'base64');
    for (const text of [c.secretAccessKey, c.accessKeyId, c.roleSessionName, 'Unicorn']) {
      assert.ok(!bytes.includes(Buffer.from(text)), `${text} is in the clear`);
    }
    assert.notEqual(sealer.seal(c), token);
  });

  it('opens with a sealer on another node that derives the key from the same master key', () => {
    const token = sealer.seal(claims());
    const other = new SessionTokenSealer({ currentKeyId: 'k1', keys: new Map([['k1', deriveSessionTokenKey(masterKey, 'k1')]]) });
    assert.deepEqual(other.open(token), claims());
  });

  it('opens tokens under a previous key id during rotation, and seals under the current one', () => {
    const old = sealer.seal(claims());
    const rotated = new SessionTokenSealer({ currentKeyId: 'k2', keys: new Map([['k1', k1], ['k2', k2]]) });
    assert.deepEqual(rotated.open(old), claims());
    const fresh = rotated.seal(claims());
    assert.equal(Buffer.from(fresh, 'base64').toString('latin1', 2, 4), 'k2');
    refused(() => sealer.open(fresh)); // k2 is unknown to the old sealer
  });

  it('refuses a token sealed under a key id it does not know', () => {
    const other = new SessionTokenSealer({ currentKeyId: 'k9', keys: new Map([['k9', deriveSessionTokenKey(masterKey, 'k9')]]) });
    assert.match(refused(() => sealer.open(other.seal(claims()))).logDetail ?? '', /unknown key id/);
  });

  it('refuses a token whose key id was relabelled (the key id is authenticated)', () => {
    const both = new SessionTokenSealer({ currentKeyId: 'k1', keys: new Map([['k1', k1], ['k2', k2]]) });
    const bytes = Buffer.from(both.seal(claims()), 'base64');
    bytes.write('k2', 2, 'latin1');
    refused(() => both.open(bytes.toString('base64')));
    // Same key under another id: still refused, because the id is in the associated data.
    const sameKey = new SessionTokenSealer({ currentKeyId: 'k1', keys: new Map([['k1', k1], ['k2', k1]]) });
    refused(() => sameKey.open(bytes.toString('base64')));
  });

  it('refuses a token sealed under the same key id with a different key', () => {
    const impostor = new SessionTokenSealer({ currentKeyId: 'k1', keys: new Map([['k1', randomBytes(32)]]) });
    assert.match(refused(() => sealer.open(impostor.seal(claims()))).logDetail ?? '', /tag/);
  });

  it('refuses any single flipped bit, wherever it is', () => {
    const bytes = Buffer.from(sealer.seal(claims()), 'base64');
    for (let i = 0; i < bytes.length; i++) {
      const copy = Buffer.from(bytes);
      copy[i] = (copy[i] as number) ^ 0x01;
      refused(() => sealer.open(copy.toString('base64')));
    }
  });

  it('refuses truncated and extended tokens', () => {
    const bytes = Buffer.from(sealer.seal(claims()), 'base64');
    for (const cut of [0, 1, 2, 4, 16, 20, bytes.length - 16, bytes.length - 1]) {
      refused(() => sealer.open(bytes.subarray(0, cut).toString('base64')));
    }
    refused(() => sealer.open(Buffer.concat([bytes, Buffer.from([0])]).toString('base64')));
  });

  it('refuses anything that is not exactly canonical standard base64', () => {
    const token = sealer.seal(claims());
    const urlSafe = token.replace(/\+/g, '-').replace(/\//g, '_');
    for (const bad of ['', '!!!!', `${token} `, ` ${token}`, `${token}\n`, token.slice(0, -1), `${token}====`, 'A'.repeat(20_000)]) {
      refused(() => sealer.open(bad));
    }
    if (urlSafe !== token) refused(() => sealer.open(urlSafe));
  });

  it('refuses a non-canonical base64 spelling of a valid token (non-zero padding bits)', () => {
    // Find a token whose length leaves padding bits, then set one of them: same bytes, another string.
    let token = '';
    while (!token.endsWith('=')) token = sealer.seal(claims({ roleSessionName: `s${token.length}${Math.random()}` }));
    const last = token.replace(/=+$/, '').slice(-1);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const bumped = alphabet[alphabet.indexOf(last) + 1] as string;
    const variant = token.replace(/.(=+)$/, `${bumped}$1`);
    assert.deepEqual(Buffer.from(variant, 'base64'), Buffer.from(token, 'base64'));
    assert.match(refused(() => sealer.open(variant)).logDetail ?? '', /canonical/);
  });

  it('refuses an unknown version', () => {
    const bytes = Buffer.from(sealer.seal(claims()), 'base64');
    bytes[0] = 2;
    assert.match(refused(() => sealer.open(bytes.toString('base64'))).logDetail ?? '', /version/);
  });

  it('refuses a payload that authenticates but is not well-typed claims', async () => {
    const { createCipheriv } = await import('node:crypto');
    const seal = (payload: string): string => {
      const head = Buffer.from([1, 2, ...Buffer.from('k1')]);
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', k1, iv);
      cipher.setAAD(head);
      const ct = Buffer.concat([cipher.update(payload), cipher.final()]);
      return Buffer.concat([head, iv, ct, cipher.getAuthTag()]).toString('base64');
    };
    const valid = [
      'ASIAEXAMPLE234567ABC',
      'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      '123456789012',
      'arn:aws:iam::123456789012:role/R',
      'AROAEXAMPLEROLEID2345',
      's',
      'arn:aws:iam::123456789012:saml-provider/P',
      0,
      3600_000,
      null,
      [],
      [],
      null,
      [],
    ];
    assert.equal(sealer.open(seal(JSON.stringify(valid))).roleSessionName, 's');
    const variants: string[] = [
      'not json',
      '{}',
      '[]',
      JSON.stringify(valid.slice(0, 13)),
      JSON.stringify([...valid, 'extra']),
      JSON.stringify(Object.assign([...valid], { 0: 'AKIAEXAMPLE234567ABC' })),
      JSON.stringify(Object.assign([...valid], { 1: 'short' })),
      JSON.stringify(Object.assign([...valid], { 2: 123456789012 })),
      JSON.stringify(Object.assign([...valid], { 8: '3600000' })),
      JSON.stringify(Object.assign([...valid], { 8: 1.5 })),
      JSON.stringify(Object.assign([...valid], { 9: 7 })),
      JSON.stringify(Object.assign([...valid], { 10: [['only-key']] })),
      JSON.stringify(Object.assign([...valid], { 10: [{ key: 'k', value: 'v' }] })),
      JSON.stringify(Object.assign([...valid], { 11: [1] })),
      JSON.stringify(Object.assign([...valid], { 13: 'arn' })),
    ];
    for (const payload of variants) refused(() => sealer.open(seal(payload)));
  });

  it('refuses to seal claims that it would not open', () => {
    assert.throws(() => sealer.seal(claims({ accessKeyId: 'AKIAEXAMPLE234567ABC' })), /not well-formed/);
    assert.throws(() => sealer.seal(claims({ secretAccessKey: 'short' })), /not well-formed/);
    assert.throws(() => sealer.seal(claims({ expiration: new Date(Number.NaN) })), /not well-formed/);
  });

  it('refuses a key set without the current key, a short key or a bad key id', () => {
    assert.throws(() => new SessionTokenSealer({ currentKeyId: 'k2', keys: new Map([['k1', k1]]) }), /no key/);
    assert.throws(() => new SessionTokenSealer({ currentKeyId: 'k1', keys: new Map([['k1', randomBytes(16)]]) }), /32 bytes/);
    assert.throws(() => new SessionTokenSealer({ currentKeyId: 'k 1', keys: new Map([['k 1', k1]]) }), /key id/);
  });
});

describe('aws/credentials newTemporaryCredentials and newRoleId', () => {
  const sealer = new SessionTokenSealer({ currentKeyId: 'k1', keys: new Map([['k1', k1]]) });
  const { accessKeyId: _a, secretAccessKey: _s, ...session } = claims();

  it('mints an AWS-shaped access key id and secret and seals them with the claims', () => {
    const { claims: minted, sessionToken } = newTemporaryCredentials(sealer, session);
    assert.match(minted.accessKeyId, /^ASIA[A-Z2-7]{16}$/);
    assert.match(minted.secretAccessKey, /^[A-Za-z0-9+/]{40}$/);
    assert.deepEqual(sealer.open(sessionToken), minted);
    assert.equal(minted.roleArn, session.roleArn);
  });

  it('draws fresh, well-spread values each time', () => {
    const ids = new Set<string>();
    const secrets = new Set<string>();
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const { claims: c } = newTemporaryCredentials(sealer, session);
      ids.add(c.accessKeyId);
      secrets.add(c.secretAccessKey);
      for (const ch of c.accessKeyId.slice(4)) seen.add(ch);
    }
    assert.equal(ids.size, 200);
    assert.equal(secrets.size, 200);
    assert.equal(seen.size, 32, 'every base32 character appears');
  });

  it('newRoleId is AROA + 17 uppercase base32 characters', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 100; i++) {
      const id = newRoleId();
      assert.match(id, /^AROA[A-Z2-7]{17}$/);
      ids.add(id);
    }
    assert.equal(ids.size, 100);
  });
});
