import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initInstance } from '../../../src/instance/init-instance';
import { openServingInstance } from '../../../src/instance/open-instance';
import { quickCertificate } from '../../support/quick-certificate';
import { startupRefusal } from '../../support/test-sts';

// clientCertificates.caFiles at start-up: each file is read and parsed once, into the authorities
// certificatemixed checks client certificates against; a file that cannot serve refuses start-up,
// naming its config key.
describe('instance: the client-certificate authorities of a serving instance', function () {
  this.timeout(60_000);
  let parent: string;
  let home: string;
  let config: Record<string, unknown>;
  const first = quickCertificate('first-client-ca');
  const second = quickCertificate('second-client-ca');

  const setClientCertificates = (caFiles: string[]): void => {
    writeFileSync(join(home, 'config.json'), JSON.stringify({ ...config, clientCertificates: { caFiles, pinnedThumbprints: [] } }, null, 2));
  };
  const refusal = (): Promise<string> => startupRefusal(home);

  before(async () => {
    parent = mkdtempSync(join(tmpdir(), 'trustbridge-client-cas-'));
    home = join(parent, 'instance');
    await initInstance(home, { demo: false, port: 0 });
    config = JSON.parse(readFileSync(join(home, 'config.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(home, 'first-ca.pem'), first.pem);
    writeFileSync(join(parent, 'second-ca.pem'), second.pem);
    writeFileSync(join(home, 'junk.pem'), 'not a certificate\n');
  });
  after(() => rmSync(parent, { recursive: true, force: true }));

  it('each file, relative to the instance or absolute, is one authority, in the order listed', async () => {
    setClientCertificates(['first-ca.pem', join(parent, 'second-ca.pem')]);
    const instance = await openServingInstance(home);
    try {
      assert.deepEqual(
        instance.clientCertificates.authorities.map((ca) => ca.fingerprint256.replace(/:/g, '').toLowerCase()),
        [first.thumbprint, second.thumbprint],
      );
    } finally {
      await instance.close();
    }
  });

  it('a file that holds no certificate refuses start-up, naming its key', async () => {
    setClientCertificates(['first-ca.pem', 'junk.pem']);
    assert.match(await refusal(), /^config key "clientCertificates\.caFiles\[1\]" does not name a PEM certificate: /);
  });

  it('a file that cannot be read refuses start-up, naming its key and path', async () => {
    setClientCertificates(['missing.pem']);
    assert.equal(await refusal(), `config key "clientCertificates.caFiles[0]" names ${join(home, 'missing.pem')}, which cannot be read`);
  });
});
