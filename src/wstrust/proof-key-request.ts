import { createPublicKey, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import { BadRequestError } from '../core/errors';
import type { ProofKey } from '../core/proof-key';
import { pSha1 } from '../keys/p-sha1';
import { childElements, singleChild, textOf } from '../xml/dom';
import { NS } from '../xml/namespaces';
import type { RequestSecurityToken } from './rst';
import { trustUris } from './trust-version';

/** What the KeyType asked for: the key to bind into the token and what the response must say about it. */
export interface ProofKeyPlan {
  readonly keyTypeUri: string;
  readonly proofKey: ProofKey | undefined;
  /** RSTR children describing the proof key (Entropy, RequestedProofToken, KeySize). */
  readonly responseXml: string;
}

const MIN_KEY_BITS = 128;
const MAX_KEY_BITS = 512;
const DEFAULT_KEY_BITS = 256;
const MIN_RSA_BITS = 2048;

/** Turns KeyType, KeySize, Entropy, ComputedKeyAlgorithm and UseKey into a proof key, or a precise fault. */
export function planProofKey(rst: RequestSecurityToken): ProofKeyPlan {
  const uris = trustUris(rst.version);
  const keyType = rst.keyType ?? uris.keyTypeBearer;
  if (keyType === uris.keyTypeBearer) return { keyTypeUri: keyType, proofKey: undefined, responseXml: '' };
  if (keyType === uris.keyTypeSymmetric) return symmetric(rst);
  if (keyType === uris.keyTypePublic) return publicKey(rst);
  throw new BadRequestError(
    `The KeyType "${keyType}" is not supported; use ${uris.keyTypeBearer}, ${uris.keyTypeSymmetric} or ${uris.keyTypePublic}.`,
  );
}

function symmetric(rst: RequestSecurityToken): ProofKeyPlan {
  const uris = trustUris(rst.version);
  const bits = rst.keySize ?? DEFAULT_KEY_BITS;
  if (bits < MIN_KEY_BITS || bits > MAX_KEY_BITS || bits % 8 !== 0) {
    throw new BadRequestError(`KeySize ${bits} is not offered: a symmetric proof key has ${MIN_KEY_BITS} to ${MAX_KEY_BITS} bits, in whole bytes.`);
  }
  const bytes = bits / 8;
  const psha1 = `${uris.ns}/CK/PSHA1`;
  const keySizeXml = `<t:KeySize>${bits}</t:KeySize>`;
  if (rst.clientEntropy) {
    if (rst.computedKeyAlgorithm !== undefined && rst.computedKeyAlgorithm !== psha1) {
      throw new BadRequestError(`ComputedKeyAlgorithm must be ${psha1}.`);
    }
    const serverEntropy = randomBytes(bytes);
    return {
      keyTypeUri: uris.keyTypeSymmetric,
      proofKey: { kind: 'symmetric', key: pSha1(rst.clientEntropy, serverEntropy, bytes) },
      responseXml:
        `<t:Entropy><t:BinarySecret Type="${uris.ns}/Nonce">${serverEntropy.toString('base64')}</t:BinarySecret></t:Entropy>` +
        `<t:RequestedProofToken><t:ComputedKey>${psha1}</t:ComputedKey></t:RequestedProofToken>${keySizeXml}`,
    };
  }
  const key = randomBytes(bytes);
  return {
    keyTypeUri: uris.keyTypeSymmetric,
    proofKey: { kind: 'symmetric', key },
    responseXml:
      `<t:RequestedProofToken><t:BinarySecret Type="${uris.ns}/SymmetricKey">${key.toString('base64')}</t:BinarySecret>` +
      `</t:RequestedProofToken>${keySizeXml}`,
  };
}

function publicKey(rst: RequestSecurityToken): ProofKeyPlan {
  const uris = trustUris(rst.version);
  if (!rst.useKey) throw new BadRequestError('KeyType PublicKey needs UseKey with the requestor\'s certificate or RSA key.');
  return { keyTypeUri: uris.keyTypePublic, proofKey: readPublicKey(rst.useKey), responseXml: '' };
}

// The key is rebuilt from its values and written out again by us: nothing of the client's XML is copied into a signed token.
function readPublicKey(keyInfo: Element): ProofKey {
  const x509Data = singleChild(keyInfo, NS.ds, 'X509Data');
  const certificateEl = x509Data && singleChild(x509Data, NS.ds, 'X509Certificate');
  if (certificateEl) {
    try {
      const certificate = new X509Certificate(Buffer.from(textOf(certificateEl).replace(/\s+/g, ''), 'base64'));
      if (isStrongRsa(certificate.publicKey)) return { kind: 'public', certificate };
    } catch {
      // fall through to the fault below
    }
    throw new BadRequestError(`UseKey must hold an X.509 certificate with an RSA key of at least ${MIN_RSA_BITS} bits.`);
  }
  const rsa = singleChild(singleChild(keyInfo, NS.ds, 'KeyValue') ?? keyInfo, NS.ds, 'RSAKeyValue');
  const modulus = rsa && singleChild(rsa, NS.ds, 'Modulus');
  const exponent = rsa && singleChild(rsa, NS.ds, 'Exponent');
  if (rsa && modulus && exponent && childElements(rsa).length === 2) {
    const b64url = (el: Element): string => Buffer.from(textOf(el).replace(/\s+/g, ''), 'base64').toString('base64url');
    try {
      const rsaKey = createPublicKey({ key: { kty: 'RSA', n: b64url(modulus), e: b64url(exponent) }, format: 'jwk' });
      if (isStrongRsa(rsaKey)) return { kind: 'public', rsaKey };
    } catch {
      // fall through to the fault below
    }
  }
  throw new BadRequestError(`UseKey must hold an X.509 certificate or an RSA key of at least ${MIN_RSA_BITS} bits.`);
}

function isStrongRsa(key: KeyObject): boolean {
  return key.asymmetricKeyType === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) >= MIN_RSA_BITS;
}
