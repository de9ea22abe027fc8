import { strict as assert } from 'node:assert';
import { temporaryHome } from '../support/temporary-home';
import { runSts } from '../support/unit-cli';

describe('cli: sts rp add / rp list', function () {
  this.timeout(60_000);
  const { home } = temporaryHome('trustbridge-cli-rp-');

  before(() => {
    const init = runSts(['init', '--home', home]);
    assert.equal(init.status, 0, init.stderr);
  });

  it('adds a relying party with lifetime, claim and endpoint', () => {
    const r = runSts(['rp', 'add', 'https://app.example/', '--home', home, '--lifetime', '600', '--claim', 'X', '--endpoint', 'https://app.example/acs']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /added relying party https:\/\/app\.example\//);
  });

  it('sts rp list shows it with its settings', () => {
    const r = runSts(['rp', 'list', '--home', home]);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(
      r.stdout.includes(
        'https://app.example/  (https://app.example/)\n' +
          '  lifetime 600s, NameID format urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified\n' +
          '  endpoint https://app.example/acs\n' +
          '  releases X\n',
      ),
      r.stdout,
    );
  });

  it('defaults: 3600 s lifetime, no claims, a display name', () => {
    const r = runSts(['rp', 'add', 'urn:example:plain', '--home', home, '--name', 'Plain RP']);
    assert.equal(r.status, 0, r.stderr);
    const list = runSts(['rp', 'list', '--home', home]).stdout;
    assert.ok(list.includes('urn:example:plain  (Plain RP)\n  lifetime 3600s'), list);
    assert.ok(list.includes('urn:example:plain  (Plain RP)\n  lifetime 3600s, NameID format urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified\n  releases (no claims)\n'), list);
  });

  it('a non-URI AppliesTo fails with a clear message (exit 1) and adds nothing', () => {
    const r = runSts(['rp', 'add', 'not a uri', '--home', home]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /AppliesTo must be an absolute URI \(got "not a uri"\)/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    assert.ok(!runSts(['rp', 'list', '--home', home]).stdout.includes('not a uri'));
  });

  it('a non-URI endpoint fails with a clear message', () => {
    const r = runSts(['rp', 'add', 'https://other.example/', '--home', home, '--endpoint', '/acs']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /endpoint URL must be an absolute URI/);
  });

  it('a lifetime of 10 fails with a clear message naming the allowed range', () => {
    const r = runSts(['rp', 'add', 'https://short.example/', '--home', home, '--lifetime', '10']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /token lifetime must be whole seconds from 60 to \d+/);
    assert.ok(!runSts(['rp', 'list', '--home', home]).stdout.includes('short.example'));
  });

  it('a lifetime that is not a number exits 2', () => {
    const r = runSts(['rp', 'add', 'https://short.example/', '--home', home, '--lifetime', '10m']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--lifetime must be a whole number/);
  });

  it('a duplicate AppliesTo fails with exit 1 and a clear message', () => {
    const r = runSts(['rp', 'add', 'https://app.example/', '--home', home]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /relying party https:\/\/app\.example\/ already exists/);
  });

  it('no AppliesTo exits 2', () => {
    const r = runSts(['rp', 'add', '--home', home]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /exactly one APPLIES_TO/);
  });
});
