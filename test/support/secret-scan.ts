// Finds secrets in what a server said or wrote: each secret as every form it could leak in (a PEM
// re-wrapped or JSON-escaped, a key in base64, base64url or hex, a password XML- or JSON-escaped).

export interface Secret {
  /** What it is, for the report (never the secret itself). */
  readonly kind: string;
  readonly forms: readonly string[];
  /** Where it must not appear: anywhere (default), or only in logs (a credential its own response carries). */
  readonly scope?: 'everywhere' | 'logs';
}

export interface Text {
  readonly where: string;
  readonly text: string;
  readonly isLog: boolean;
}

export interface Leak {
  readonly where: string;
  readonly kind: string;
}

const CHUNK = 40;

/**
 * A private key in PEM: its base64 body cut into 40-character pieces, so a whole key, a piece of it,
 * or the key wrapped at another width is found. The first 64 characters are left out: every PKCS#8
 * RSA key starts the same way, and that prefix says nothing about this key.
 */
export function pemSecret(kind: string, pem: string): Secret {
  const body = pem.replace(/-----[^-]+-----/g, '').replace(/[^A-Za-z0-9+/=]/g, '');
  const forms: string[] = [];
  for (let at = 64; at + CHUNK <= body.length; at += CHUNK) forms.push(body.slice(at, at + CHUNK));
  if (forms.length === 0) throw new Error(`${kind}: not a PEM`);
  return { kind, forms };
}

/** Key bytes in every usual text encoding. */
export function bytesSecret(kind: string, bytes: Buffer): Secret {
  const base64 = bytes.toString('base64');
  return { kind, forms: [...new Set([base64, base64.replace(/=+$/, ''), bytes.toString('base64url'), bytes.toString('hex'), bytes.toString('hex').toUpperCase()])] };
}

/** A password, PIN or access key: itself, XML-escaped and JSON-escaped. */
export function textSecret(kind: string, value: string, scope: Secret['scope'] = 'everywhere'): Secret {
  const xml = value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  return { kind, forms: [...new Set([value, xml, JSON.stringify(value).slice(1, -1)])], scope };
}

// JSON and XML writers may split a PEM with escaped newlines or entities: compare without them.
const squeeze = (text: string): string => text.replace(/\\[nrt]|&#1[03];|&#x[dDaA];|\s/g, '').replace(/\\\//g, '/');

/** Every place a secret appears, by where and kind. */
export function findLeaks(texts: readonly Text[], secrets: readonly Secret[]): Leak[] {
  const leaks: Leak[] = [];
  for (const { where, text, isLog } of texts) {
    const squeezed = squeeze(text);
    for (const secret of secrets) {
      if (secret.scope === 'logs' && !isLog) continue;
      if (secret.forms.some((form) => text.includes(form) || squeezed.includes(form))) leaks.push({ where, kind: secret.kind });
    }
  }
  return leaks;
}
