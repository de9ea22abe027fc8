import { execFileSync } from 'node:child_process';
import { createPrivateKey, randomBytes, sign } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { generateSelfSignedCertificate } from '../src/keys/certificates';
import { Pkcs11Token } from '../src/keys/pkcs11/pkcs11-token';
import { tokenCustody } from '../src/keys/pkcs11/token-custody';
import { loadSigningKey } from '../src/keys/signing-key';

// Signing rate of a token-held key (SoftHSM2 through pkcs11js, CKM_SHA256_RSA_PKCS) next to the
// sealed path's in-process KeyObject, on one core, over a buffer the size of a canonical SignedInfo.
// A script, not a test: `npx tsc -p . && node dist/bench/pkcs11-signing.js [seconds]`.

const MODULE = '/usr/lib/softhsm/libsofthsm2.so';
const MESSAGE = randomBytes(600);

function rate(seconds: number, signOnce: () => unknown): number {
  const run = (s: number): number => {
    const end = performance.now() + s * 1000;
    let n = 0;
    while (performance.now() < end) {
      for (let i = 0; i < 8; i++) signOnce();
      n += 8;
    }
    return n / s;
  };
  run(0.3);
  return run(seconds);
}

function main(): void {
  const seconds = Number(process.argv[2] ?? 3);
  const dir = mkdtempSync(join(tmpdir(), 'trustbridge-bench-softhsm-'));
  try {
    mkdirSync(join(dir, 'tokens'));
    writeFileSync(join(dir, 'softhsm2.conf'), `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
    process.env['SOFTHSM2_CONF'] = join(dir, 'softhsm2.conf');
    const pin = randomBytes(8).toString('hex');
    execFileSync('softhsm2-util', ['--init-token', '--free', '--label', 'bench', '--pin', pin, '--so-pin', randomBytes(8).toString('hex')], { stdio: 'pipe' });
    const custody = tokenCustody(Pkcs11Token.open({ module: MODULE, tokenLabel: 'bench', pin, pinSource: 'bench' }), randomBytes(32));
    try {
      const generated = custody.generate({ commonName: 'bench', validDays: 1 });
      const inToken = custody.open({ thumbprint: 'bench', certificatePem: generated.certificatePem, sealedPrivateKey: generated.privateKeyAtRest });
      const local = generateSelfSignedCertificate({ commonName: 'bench', validDays: 1 });
      const inProcess = loadSigningKey(local.privateKeyPem, local.certificatePem);
      const raw = createPrivateKey(local.privateKeyPem);
      const token = rate(seconds, () => inToken.sign('sha256', MESSAGE));
      const sealed = rate(seconds, () => inProcess.sign('sha256', MESSAGE));
      const direct = rate(seconds, () => sign('sha256', MESSAGE, raw));
      process.stdout.write(
        `RSA-2048 SHA-256 signatures of ${MESSAGE.length} bytes, one core, ${seconds} s each:\n` +
          `  PKCS#11 token (SoftHSM2, pkcs11js): ${token.toFixed(0)}/s\n` +
          `  sealed key (SigningKey.sign):       ${sealed.toFixed(0)}/s\n` +
          `  Node crypto.sign on the KeyObject:  ${direct.toFixed(0)}/s (the sealed path before the signer abstraction)\n` +
          `  ratio: ${(token / sealed).toFixed(2)}\n`,
      );
    } finally {
      custody.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
