import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { certificateThumbprintSha256 } from '../../src/keys/signing-key';

/** A self-signed EC certificate from openssl (fast, unlike an RSA key): its PEM and SHA-256 thumbprint. */
export function quickCertificate(cn: string): { pem: string; thumbprint: string } {
  const run = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${cn}`, '-days', '2', '-keyout', '/dev/null'], {
    encoding: 'utf8',
  });
  assert.equal(run.status, 0, run.stderr);
  return { pem: run.stdout, thumbprint: certificateThumbprintSha256(new X509Certificate(run.stdout).raw) };
}
