import { strict as assert } from 'node:assert';
import { generateSelfSignedCertificate } from '../../src/keys/certificates';
import { loadSigningKey } from '../../src/keys/signing-key';
import { renderFederationMetadata } from '../../src/metadata/federation-metadata';
import {
  combinePins,
  PinsFileError,
  pinsFromFederationMetadata,
  readPinsFile,
  renderPinsFile,
  thumbprintOfPem,
  validateAssertion,
  type RelyingPartyPin,
} from '../../src/rp-validator';
import { signAssertion } from '../support/rp-tokens';

// Where a relying party's pins come from: a pins file (every field checked, unknown ones refused),
// FederationMetadata (every signing certificate, active) or both, where the file's states win.

const ISSUER = 'https://idp.pins.example/adfs/services/trust';
const RP = 'https://app.pins.example/';

function newKey(commonName: string) {
  const generated = generateSelfSignedCertificate({ commonName, validDays: 2 });
  return { ...loadSigningKey(generated.privateKeyPem, generated.certificatePem), privateKeyPem: generated.privateKeyPem };
}

const pinOf = (certificatePem: string, changes: Partial<RelyingPartyPin> = {}): RelyingPartyPin => ({
  issuer: ISSUER,
  thumbprint: thumbprintOfPem(certificatePem),
  certificatePem,
  state: 'active',
  activateAt: null,
  retireAt: null,
  ...changes,
});

describe('rp-validator: pins files and pins from FederationMetadata', function () {
  this.timeout(30_000);
  const active = newKey('Pins Active');
  const next = newKey('Pins Next');

  describe('the pins file', () => {
    it('reads back what renderPinsFile writes, times included', () => {
      const pins = [pinOf(active.certificatePem), pinOf(next.certificatePem, { state: 'pending', activateAt: new Date('2026-12-01T00:00:00.000Z'), retireAt: new Date('2027-12-01T00:00:00.000Z') })];
      const text = renderPinsFile(pins);
      assert.deepEqual(readPinsFile(text), pins);
      const json = JSON.parse(text) as { pins: Array<Record<string, unknown>> };
      assert.deepEqual(Object.keys(json.pins[1] ?? {}), ['issuer', 'thumbprint', 'certificatePem', 'state', 'activateAt', 'retireAt']);
      assert.equal(json.pins[1]?.['activateAt'], '2026-12-01T00:00:00.000Z');
      assert.equal(json.pins[0]?.['retireAt'], null);
    });

    it('computes the thumbprint when left out, and accepts it in upper case', () => {
      const [withoutThumbprint] = readPinsFile(JSON.stringify({ pins: [{ issuer: ISSUER, certificatePem: active.certificatePem, state: 'active' }] }));
      assert.equal(withoutThumbprint?.thumbprint, active.thumbprintSha256);
      assert.equal(withoutThumbprint?.activateAt, null);
      const [upper] = readPinsFile(JSON.stringify({ pins: [{ issuer: ISSUER, thumbprint: active.thumbprintSha256.toUpperCase(), certificatePem: active.certificatePem, state: 'retired' }] }));
      assert.equal(upper?.thumbprint, active.thumbprintSha256);
      assert.equal(upper?.state, 'retired');
    });

    it('refuses a file that is wrong anywhere, naming the entry and field', () => {
      const good = { issuer: ISSUER, certificatePem: active.certificatePem, state: 'active' };
      const cases: Array<[unknown, RegExp]> = [
        ['{not json', /^the pins file is not JSON$/],
        [[good], /must be an object with one member, "pins", a list/],
        [{ pins: [good], comment: 'x' }, /must be an object with one member, "pins"/],
        [{ pins: [good, 'x'] }, /^pins\[1\] is not an object$/],
        [{ pins: [{ ...good, retire_at: '2027-01-01T00:00:00Z' }] }, /^pins\[0\] has an unknown field "retire_at"$/],
        [{ pins: [{ ...good, issuer: '' }] }, /^pins\[0\]\.issuer must be a non-empty string$/],
        [{ pins: [{ ...good, certificatePem: 'not a certificate' }] }, /^pins\[0\]\.certificatePem is not a PEM X\.509 certificate$/],
        [{ pins: [{ ...good, thumbprint: next.thumbprintSha256 }] }, new RegExp(`^pins\\[0\\]\\.thumbprint is not the SHA-256 thumbprint of its certificate \\(${active.thumbprintSha256}\\)$`)],
        [{ pins: [{ ...good, state: 'retiring' }] }, /^pins\[0\]\.state must be one of pending, active, retired, revoked$/],
        [{ pins: [{ ...good, activateAt: 'next tuesday' }] }, /^pins\[0\]\.activateAt must be an ISO 8601 time/],
        [{ pins: [{ ...good, retireAt: 1767225600000 }] }, /^pins\[0\]\.retireAt must be an ISO 8601 time/],
      ];
      for (const [content, message] of cases) {
        const text = typeof content === 'string' ? content : JSON.stringify(content);
        assert.throws(() => readPinsFile(text), (err: unknown) => err instanceof PinsFileError && message.test(err.message), text.slice(0, 80));
      }
    });
  });

  describe('FederationMetadata', () => {
    const metadata = renderFederationMetadata({ entityId: ISSUER, baseUrl: 'https://idp.pins.example', certificates: [active, next], signWith: active });

    it('pins every signing certificate it publishes (active and pending alike) as active, for its entityID', () => {
      const pins = pinsFromFederationMetadata(metadata);
      assert.deepEqual(
        pins.map(({ certificatePem, ...rest }) => ({ ...rest, certificateThumbprint: thumbprintOfPem(certificatePem) })),
        [active, next].map((k) => ({ issuer: ISSUER, thumbprint: k.thumbprintSha256, state: 'active', activateAt: null, retireAt: null, certificateThumbprint: k.thumbprintSha256 })),
      );
    });

    it('refuses a document that is not metadata', () => {
      assert.throws(() => pinsFromFederationMetadata('<x/>'), /not a SAML 2\.0 md:EntityDescriptor/);
      assert.throws(() => pinsFromFederationMetadata('<!DOCTYPE x><x/>'), /not acceptable XML/);
    });

    it('combined with a pins file, the file\'s states win: a certificate it lists as revoked is not made active again by the metadata', async () => {
      const fromFile = [pinOf(next.certificatePem, { state: 'revoked' })];
      const pins = combinePins(fromFile, pinsFromFederationMetadata(metadata));
      assert.deepEqual(
        pins.map((p) => [p.thumbprint, p.state]),
        [[next.thumbprintSha256, 'revoked'], [active.thumbprintSha256, 'active']],
      );
      const token = (key: typeof active): string => {
        const now = new Date();
        return signAssertion(
          `<Assertion xmlns="urn:oasis:names:tc:SAML:2.0:assertion" ID="_p${key.thumbprintSha256.slice(0, 8)}" IssueInstant="${now.toISOString()}" Version="2.0">` +
            `<Issuer>${ISSUER}</Issuer><Subject><NameID>carol@pins.example</NameID></Subject>` +
            `<Conditions NotBefore="${now.toISOString()}" NotOnOrAfter="${new Date(now.getTime() + 600_000).toISOString()}">` +
            `<AudienceRestriction><Audience>${RP}</Audience></AudienceRestriction></Conditions></Assertion>`,
          key.privateKeyPem,
          key.certificatePem,
        );
      };
      assert.deepEqual((await validateAssertion(token(next), { pins, audiences: [RP] })).problems.map((p) => p.code), ['pin-revoked']);
      assert.deepEqual((await validateAssertion(token(active), { pins, audiences: [RP] })).problems, []);
    });
  });
});
