import { strict as assert } from 'node:assert';
import { InvalidSecurityError, MessageExpiredError, ProtocolError, UnsupportedSecurityTokenError } from '../../../src/core/errors';
import { checkTimestamp } from '../../../src/soap/check-timestamp';
import { readSecurityHeader } from '../../../src/soap/security-header';
import { NS, WSSE_BASE64_BINARY, WSSE_PASSWORD_DIGEST, WSSE_PASSWORD_TEXT } from '../../../src/xml/namespaces';
import { thrownBy, unitEnvelope } from '../../support/unit-soap';

const BODY = '<x:Payload xmlns:x="urn:test"/>';
const NONCE = Buffer.from('0123456789abcdef').toString('base64');
const CREATED = '2030-06-01T12:00:00.123Z';
const EXPIRES = '2030-06-01T12:05:00.123Z';

const timestamp = (inner = `<u:Created>${CREATED}</u:Created><u:Expires>${EXPIRES}</u:Expires>`): string =>
  `<u:Timestamp u:Id="_0">${inner}</u:Timestamp>`;
const usernameToken = (inner: string): string => `<o:UsernameToken u:Id="uuid-1">${inner}</o:UsernameToken>`;
const security = (inner: string, attrs = ' s:mustUnderstand="1"'): string => `<o:Security${attrs}>${inner}</o:Security>`;
const read = (header: string | undefined, version: '1.1' | '1.2' = '1.2'): ReturnType<typeof readSecurityHeader> =>
  readSecurityHeader(unitEnvelope(header, BODY, version));

function expectFault(header: string, cls: new (...args: never[]) => ProtocolError, code: string, version: '1.1' | '1.2' = '1.2'): ProtocolError {
  const err = thrownBy(() => read(header, version));
  assert.ok(err instanceof cls, `expected ${cls.name}, got ${String(err)}`);
  assert.equal((err as ProtocolError).code, code);
  return err as ProtocolError;
}

describe('soap/security-header readSecurityHeader', () => {
  it('no Header, or a Header without Security: undefined', () => {
    assert.equal(read(undefined), undefined);
    assert.equal(read('<a:Action>urn:x</a:Action>'), undefined);
  });

  it('reads a Timestamp and a PasswordText UsernameToken (ADAL: no Type), keeping the password exactly', () => {
    const header = read(
      security(timestamp() + usernameToken('<o:Username> alice@example.com </o:Username><o:Password>  pass word &amp; &lt;é  </o:Password>')),
    );
    assert.ok(header);
    assert.deepEqual(header.timestamp, { created: new Date(CREATED), expires: new Date(EXPIRES) });
    assert.deepEqual(header.usernameToken, {
      username: 'alice@example.com',
      password: '  pass word & <é  ',
      passwordType: 'text',
      nonce: undefined,
      createdText: undefined,
      created: undefined,
    });
  });

  it('reads an explicit PasswordText Type, and a Nonce and Created on it', () => {
    const header = read(
      security(
        usernameToken(
          `<o:Username>bob</o:Username><o:Password Type="${WSSE_PASSWORD_TEXT}">pw</o:Password>` +
            `<o:Nonce EncodingType="${WSSE_BASE64_BINARY}">${NONCE}</o:Nonce><u:Created>${CREATED}</u:Created>`,
        ),
      ),
    );
    const token = header?.usernameToken;
    assert.equal(token?.passwordType, 'text');
    assert.equal(token?.password, 'pw');
    assert.deepEqual(token?.nonce, Buffer.from('0123456789abcdef'));
    assert.equal(token?.createdText, CREATED);
    assert.deepEqual(token?.created, new Date(CREATED));
  });

  it('reads a PasswordDigest token, keeping Created as sent (7 fraction digits)', () => {
    const created = '2030-06-01T12:00:00.1234567Z';
    const header = read(
      security(
        usernameToken(
          `<o:Username>bob</o:Username><o:Password Type="${WSSE_PASSWORD_DIGEST}">ZGlnZXN0ZGlnZXN0ZGlnZXN0ZGk=</o:Password>` +
            `<o:Nonce>${NONCE}</o:Nonce><u:Created>${created}</u:Created>`,
        ),
      ),
    );
    const token = header?.usernameToken;
    assert.equal(token?.passwordType, 'digest');
    assert.equal(token?.password, 'ZGlnZXN0ZGlnZXN0ZGlnZXN0ZGk=');
    assert.equal(token?.createdText, created);
    assert.deepEqual(token?.created, new Date('2030-06-01T12:00:00.123Z'));
  });

  it('works the same in SOAP 1.1', () => {
    const header = read(security(usernameToken('<o:Username>u</o:Username><o:Password>p</o:Password>')), '1.1');
    assert.equal(header?.usernameToken?.username, 'u');
  });

  describe('ignores Security headers meant for someone else', () => {
    it('SOAP 1.2 role', () => {
      assert.equal(read(security(timestamp(), ' s:role="http://intermediary"')), undefined);
    });
    it('SOAP 1.1 actor', () => {
      assert.equal(read(security(timestamp(), ' s:actor="http://intermediary"'), '1.1'), undefined);
    });
    it('reads ours beside one for an intermediary', () => {
      const header = read(security(timestamp(), ' s:role="http://intermediary"') + security(usernameToken('<o:Username>u</o:Username><o:Password>p</o:Password>')));
      assert.equal(header?.usernameToken?.username, 'u');
      assert.equal(header?.timestamp, undefined);
    });
    it('a Security element in another namespace (WS-Security 1.1 secext) is not ours', () => {
      assert.equal(read(`<w:Security xmlns:w="${NS.wsse11}">${timestamp()}</w:Security>`), undefined);
    });
  });

  describe('refuses', () => {
    const ut = (inner: string): string => security(usernameToken(inner));
    const cases: Array<[string, string, new (...args: never[]) => ProtocolError, string]> = [
      ['two Security headers', security(timestamp()) + security(timestamp()), InvalidSecurityError, 'InvalidSecurity'],
      ['two Timestamps', security(timestamp() + timestamp()), InvalidSecurityError, 'InvalidSecurity'],
      ['two UsernameTokens', security(usernameToken('<o:Username>a</o:Username><o:Password>p</o:Password>').repeat(2)), InvalidSecurityError, 'InvalidSecurity'],
      ['a Timestamp without Created', security(timestamp(`<u:Expires>${EXPIRES}</u:Expires>`)), InvalidSecurityError, 'InvalidSecurity'],
      ['a Timestamp with two Created', security(timestamp(`<u:Created>${CREATED}</u:Created><u:Created>${CREATED}</u:Created>`)), InvalidSecurityError, 'InvalidSecurity'],
      ['a Timestamp Created without a zone', security(timestamp('<u:Created>2030-06-01T12:00:00</u:Created>')), InvalidSecurityError, 'InvalidSecurity'],
      ['a Timestamp Expires that is not a date', security(timestamp(`<u:Created>${CREATED}</u:Created><u:Expires>tomorrow</u:Expires>`)), InvalidSecurityError, 'InvalidSecurity'],
      ['a Timestamp Created in the wsse namespace (not wsu)', security(timestamp(`<o:Created>${CREATED}</o:Created>`)), InvalidSecurityError, 'InvalidSecurity'],
      ['a UsernameToken without Password', ut('<o:Username>a</o:Username>'), InvalidSecurityError, 'InvalidSecurity'],
      ['a UsernameToken without Username', ut('<o:Password>p</o:Password>'), InvalidSecurityError, 'InvalidSecurity'],
      ['a UsernameToken with two Usernames', ut('<o:Username>a</o:Username><o:Username>b</o:Username><o:Password>p</o:Password>'), InvalidSecurityError, 'InvalidSecurity'],
      ['a UsernameToken with two Passwords', ut('<o:Username>a</o:Username><o:Password>p</o:Password><o:Password>q</o:Password>'), InvalidSecurityError, 'InvalidSecurity'],
      ['an unknown Password Type', ut('<o:Username>a</o:Username><o:Password Type="urn:plain">p</o:Password>'), UnsupportedSecurityTokenError, 'UnsupportedSecurityToken'],
      ['a PasswordDigest without Nonce', ut(`<o:Username>a</o:Username><o:Password Type="${WSSE_PASSWORD_DIGEST}">d</o:Password><u:Created>${CREATED}</u:Created>`), InvalidSecurityError, 'InvalidSecurity'],
      ['a PasswordDigest without Created', ut(`<o:Username>a</o:Username><o:Password Type="${WSSE_PASSWORD_DIGEST}">d</o:Password><o:Nonce>${NONCE}</o:Nonce>`), InvalidSecurityError, 'InvalidSecurity'],
      ['a Nonce that is not base64', ut('<o:Username>a</o:Username><o:Password>p</o:Password><o:Nonce>not base64!</o:Nonce>'), InvalidSecurityError, 'InvalidSecurity'],
      ['an empty Nonce', ut('<o:Username>a</o:Username><o:Password>p</o:Password><o:Nonce></o:Nonce>'), InvalidSecurityError, 'InvalidSecurity'],
      ['a Nonce with another EncodingType', ut(`<o:Username>a</o:Username><o:Password>p</o:Password><o:Nonce EncodingType="urn:hex">${NONCE}</o:Nonce>`), InvalidSecurityError, 'InvalidSecurity'],
      ['two Nonces', ut(`<o:Username>a</o:Username><o:Password>p</o:Password><o:Nonce>${NONCE}</o:Nonce><o:Nonce>${NONCE}</o:Nonce>`), InvalidSecurityError, 'InvalidSecurity'],
      ['a UsernameToken Created that is not a date', ut('<o:Username>a</o:Username><o:Password>p</o:Password><u:Created>yesterday</u:Created>'), InvalidSecurityError, 'InvalidSecurity'],
    ];
    for (const [what, header, cls, code] of cases) {
      it(what, () => {
        expectFault(header, cls, code);
      });
    }
  });
});

describe('soap/check-timestamp checkTimestamp', () => {
  const now = new Date('2030-06-01T12:00:00Z');
  const skew = 300_000;
  const at = (offsetMs: number): Date => new Date(now.getTime() + offsetMs);

  it('accepts a current Timestamp, and one within the skew on either side', () => {
    checkTimestamp({ created: at(-1000), expires: at(299_000) }, now, skew);
    checkTimestamp({ created: at(skew - 1000), expires: at(skew + 60_000) }, now, skew);
    checkTimestamp({ created: at(-600_000), expires: at(-skew + 1000) }, now, skew);
    checkTimestamp({ created: at(-1000), expires: undefined }, now, skew);
  });
  it('Expires before Created is InvalidSecurity', () => {
    assert.throws(() => checkTimestamp({ created: at(0), expires: at(-1) }, now, skew), InvalidSecurityError);
  });
  it('Created beyond the skew in the future is MessageExpired', () => {
    assert.throws(() => checkTimestamp({ created: at(skew + 1000), expires: at(skew + 60_000) }, now, skew), MessageExpiredError);
  });
  it('Expires passed beyond the skew is MessageExpired', () => {
    assert.throws(() => checkTimestamp({ created: at(-900_000), expires: at(-skew - 1000) }, now, skew), MessageExpiredError);
  });
});
