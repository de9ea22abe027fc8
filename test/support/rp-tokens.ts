// Tokens as a relying party receives them, for the relying-party validator's tests: genuine ones
// from a running test STS, and re-signed ones (tampered, forged with the STS's own key, or signed by
// a key of the test's own) made with xml-crypto, a signer independent of ours.
import { strict as assert } from 'node:assert';
import { randomUUID, type KeyObject } from 'node:crypto';
import { SignedXml } from 'xml-crypto';
import type { TestSigningKey } from './stolen-key';
import { ALG, NS } from '../../src/xml/namespaces';
import { httpsRequest } from './https-client';
import { postToSts } from './sts-post';
import type { TestSts } from './test-sts';
import { appliesTo, assertionText, pathOf, trustRequest } from './trust-messages';
import { replaceOnce } from './xml-edit';

/** Asks the test STS for a SAML 2.0 token over WS-Trust 1.3 and returns the assertion exactly as sent. */
export async function issueToken(sts: TestSts, user: { name: string; password: string }, audience: string): Promise<string> {
  const req = trustRequest({ version: '1.3', username: user.name, password: user.password, requestType: 'Issue', rstBody: appliesTo(audience) });
  const res = await postToSts(`${sts.baseUrl}${pathOf('1.3')}`, { ca: sts.tlsCertificatePem, headers: req.headers, body: req.body });
  assert.equal(res.status, 200, res.body.slice(0, 800));
  return assertionText(res.body);
}

/** The FederationMetadata.xml the test STS publishes. */
export async function fetchMetadata(sts: TestSts): Promise<string> {
  const res = await httpsRequest(`${sts.baseUrl}/FederationMetadata/2007-06/FederationMetadata.xml`, { ca: sts.tlsCertificatePem });
  assert.equal(res.status, 200);
  return res.body;
}

/** The assertion without its ds:Signature: what a forger edits before signing again. */
export const withoutSignature = (xml: string): string => replaceOnce(xml, /<ds:Signature[\s\S]*<\/ds:Signature>/, '');

/**
 * Signs a SAML 2.0 Assertion (enveloped, exclusive c14n, RSA-SHA256, after its Issuer) with
 * xml-crypto, putting `certificatePem` in KeyInfo.
 */
export function signAssertion(unsignedXml: string, privateKey: KeyObject | string, certificatePem: string): string {
  const signer = new SignedXml({ privateKey, publicCert: certificatePem, signatureAlgorithm: ALG.rsaSha256, canonicalizationAlgorithm: ALG.excC14n });
  signer.addReference({
    xpath: `/*[local-name()='Assertion' and namespace-uri()='${NS.saml2}']`,
    transforms: [ALG.envelopedSignature, ALG.excC14n],
    digestAlgorithm: ALG.sha256,
  });
  signer.computeSignature(unsignedXml, { prefix: 'ds', location: { reference: `/*/*[local-name()='Issuer']`, action: 'after' } });
  return signer.getSignedXml();
}

/**
 * A genuine token turned into a Golden SAML forgery: new ID, another subject, signed with `key`
 * (the STS's real key, stolen). Cryptographically perfect; no issuance record matches it.
 */
export function forgeFrom(genuine: string, key: TestSigningKey, subject: string): string {
  const id = /^<Assertion [^>]*\bID="([^"]+)"/.exec(genuine)?.[1];
  assert.ok(id, 'the genuine assertion has an ID');
  const edited = withoutSignature(genuine)
    .split(id)
    .join(`_${randomUUID()}`)
    .replace(/(<NameID[^>]*>)[^<]*(<\/NameID>)/, `$1${subject}$2`);
  return signAssertion(edited, key.privateKeyPem, key.certificatePem);
}

/** The assertion wrapped in an unsigned samlp:Response with status Success (what the POST binding carries). */
export function inResponse(assertionXml: string): string {
  return (
    `<samlp:Response xmlns:samlp="${NS.samlp2}" ID="_r${randomUUID()}" Version="2.0" IssueInstant="${new Date().toISOString()}">` +
    `<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` +
    `${assertionXml}</samlp:Response>`
  );
}
