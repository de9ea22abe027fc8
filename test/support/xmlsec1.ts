import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface XmlsecResult {
  readonly ok: boolean;
  readonly output: string;
}

/**
 * Verifies the signature on the element with the given ID attribute using xmlsec1 (libxmlsec1, C),
 * with `certificatePem` as the only key: independent of our own code.
 */
export function verifyWithXmlsec1(
  xml: string,
  certificatePem: string,
  idAttribute: string,
  idAttributeName = 'ID',
): XmlsecResult {
  const dir = mkdtempSync(join(tmpdir(), 'xmlsec1-'));
  try {
    writeFileSync(join(dir, 'doc.xml'), xml);
    writeFileSync(join(dir, 'cert.pem'), certificatePem);
    const run = spawnSync(
      'xmlsec1',
      // rsa only: xmlsec1 then ignores the certificate in KeyInfo and uses only the key we give it.
      ['--verify', '--enabled-key-data', 'rsa', '--pubkey-cert-pem', join(dir, 'cert.pem'), `--id-attr:${idAttributeName}`, idAttribute, join(dir, 'doc.xml')],
      { encoding: 'utf8' },
    );
    return { ok: run.status === 0, output: `${run.stdout}${run.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const SAML2_ASSERTION_ID_ATTRIBUTE = 'urn:oasis:names:tc:SAML:2.0:assertion:Assertion';
export const SAML11_ASSERTION_NODE = 'urn:oasis:names:tc:SAML:1.0:assertion:Assertion';
