import { strict as assert } from 'node:assert';
import { describePostgres, parsePostgresUrl } from '../../../src/store/postgres/connection-settings';

describe('store/postgres parsePostgresUrl', () => {
  it('reads user, host, port, database; the port defaults to 5432 and sslmode to disable', () => {
    assert.deepEqual(parsePostgresUrl('postgres://sts@db.internal:6432/trustbridge'), {
      host: 'db.internal',
      port: 6432,
      database: 'trustbridge',
      user: 'sts',
      sslMode: 'disable',
      sslRootCertFile: null,
    });
    assert.equal(parsePostgresUrl('postgresql://sts@db/tb').port, 5432);
  });

  it('decodes percent-escapes and IPv6 brackets', () => {
    const s = parsePostgresUrl('postgres://sts%40corp@[::1]:5433/trust%20bridge');
    assert.equal(s.user, 'sts@corp');
    assert.equal(s.host, '::1');
    assert.equal(s.database, 'trust bridge');
  });

  it('takes sslmode require, or verify-full with an optional sslrootcert', () => {
    assert.equal(parsePostgresUrl('postgres://sts@db/tb?sslmode=require').sslMode, 'require');
    const full = parsePostgresUrl('postgres://sts@db/tb?sslmode=verify-full&sslrootcert=/etc/ssl/pg-ca.pem');
    assert.equal(full.sslMode, 'verify-full');
    assert.equal(full.sslRootCertFile, '/etc/ssl/pg-ca.pem');
  });

  const refused: Array<[string, string, RegExp]> = [
    ['not a URL', 'db.internal/trustbridge', /must be a URL like postgres:\/\/user@host:5432\/database/],
    ['another scheme', 'mysql://sts@db/tb', /must start with postgres:\/\//],
    ['a password in the URL', 'postgres://sts:s3cret-pw@db/tb', /must not contain a password: set STS_PG_PASSWORD or store.passwordFile instead/],
    ['no user', 'postgres://db/tb', /must name a user/],
    ['no database', 'postgres://sts@db', /must name one database/],
    ['a path below the database', 'postgres://sts@db/tb/x', /must name one database/],
    ['an unknown parameter', 'postgres://sts@db/tb?application_name=x', /unknown parameter "application_name"/],
    ['an unknown sslmode', 'postgres://sts@db/tb?sslmode=prefer', /sslmode must be one of disable, require, verify-full/],
    ['sslrootcert without verify-full', 'postgres://sts@db/tb?sslmode=require&sslrootcert=/ca.pem', /sslrootcert needs sslmode=verify-full/],
  ];
  for (const [what, url, message] of refused) {
    it(`refuses ${what}`, () => {
      assert.throws(() => parsePostgresUrl(url), (err: Error) => {
        assert.match(err.message, message);
        assert.ok(!err.message.includes('s3cret-pw'), 'the password is repeated');
        return true;
      });
    });
  }

  it('describePostgres shows the URL without anything secret', () => {
    assert.equal(describePostgres(parsePostgresUrl('postgres://sts@db:5432/tb?sslmode=require')), 'postgres://sts@db:5432/tb');
  });
});
