import { strict as assert } from 'node:assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateSelfSignedCertificate } from '../../src/keys/certificates';
import { readPinsFile, thumbprintOfPem } from '../../src/rp-validator';
import { temporaryHome } from '../support/temporary-home';
import { runSts } from '../support/unit-cli';

// `sts trust export-pins`: the pins file for a relying party next to this instance, with the
// instance's own token-signing keys (in their lifecycle states) and the external issuers' pins.

const PARTNER = 'https://idp.partner.example/';

describe('cli: sts trust export-pins', function () {
  this.timeout(60_000);
  const { dir: parent, home } = temporaryHome('trustbridge-export-pins-');
  let issuer: string;
  let partnerPem: string;

  before(() => {
    assert.equal(runSts(['init', '--home', home]).status, 0);
    issuer = (JSON.parse(readFileSync(join(home, 'config.json'), 'utf8')) as { issuer?: string }).issuer ?? 'http://trustbridge.localhost/adfs/services/trust';
    // The first key retires (retiring) under a new active one; a third waits, pending.
    assert.equal(runSts(['keys', 'rotate', '--now', '--home', home]).status, 0);
    assert.equal(runSts(['keys', 'rotate', '--home', home]).status, 0);
    partnerPem = generateSelfSignedCertificate({ commonName: 'Partner IdP', validDays: 30 }).certificatePem;
    writeFileSync(join(parent, 'partner.pem'), partnerPem);
    const pinned = runSts(['trust', 'pin', PARTNER, '--cert', join(parent, 'partner.pem'), '--pending', '--activate-at', '2030-01-01T00:00:00Z', '--home', home]);
    assert.equal(pinned.status, 0, pinned.stderr);
  });

  it('prints every key of the instance for its issuer (retiring as active) and the partners\' pins, as a pins file', () => {
    const r = runSts(['trust', 'export-pins', '--home', home]);
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /PRIVATE KEY/);
    const pins = readPinsFile(r.stdout);
    const keysListed = [...runSts(['keys', 'list', '--home', home]).stdout.matchAll(/^([0-9a-f]{64})  (\w+)$/gm)].map((m) => [m[1], m[2]]);
    assert.deepEqual(keysListed.map((k) => k[1]), ['retiring', 'active', 'pending']);
    assert.deepEqual(
      pins.map((p) => [p.issuer, p.thumbprint, p.state, p.activateAt?.toISOString() ?? null]),
      [
        [issuer, keysListed[0]?.[0], 'active', null],
        [issuer, keysListed[1]?.[0], 'active', null],
        [issuer, keysListed[2]?.[0], 'pending', null],
        [PARTNER, thumbprintOfPem(partnerPem), 'pending', '2030-01-01T00:00:00.000Z'],
      ],
    );
  });

  it('--issuer keeps one issuer\'s pins; an issuer with none gives an empty list', () => {
    const partner = runSts(['trust', 'export-pins', '--issuer', PARTNER, '--home', home]);
    assert.equal(partner.status, 0, partner.stderr);
    assert.deepEqual(readPinsFile(partner.stdout).map((p) => p.issuer), [PARTNER]);
    const none = runSts(['trust', 'export-pins', '--issuer', 'https://nobody.example/', '--home', home]);
    assert.equal(none.status, 0);
    assert.deepEqual(JSON.parse(none.stdout), { pins: [] });
  });

  it('a stray argument is a usage error (exit 2)', () => {
    const r = runSts(['trust', 'export-pins', 'extra', '--home', home]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /export-pins takes no arguments/);
    assert.match(r.stderr, /usage: sts trust export-pins/);
  });
});
