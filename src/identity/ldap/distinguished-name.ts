// Comparing DNs as a directory does: `CN=Developers, OU=Groups,DC=corp` and
// `cn=developers,ou=groups,dc=corp` name the same group, and so does `cn=dev\2Cops` and `cn=dev\,ops`.

interface AttributeValueAssertion {
  readonly type: string;
  readonly value: string;
}

/**
 * The RDNs of an RFC 4514 string, first (most specific) first, each a set of type=value with
 * escapes resolved; undefined when the string is not a DN.
 */
export function parseDn(dn: string): AttributeValueAssertion[][] | undefined {
  const rdns: AttributeValueAssertion[][] = [];
  let avas: AttributeValueAssertion[] = [];
  let type = '';
  let bytes: number[] = [];
  let inValue = false;
  // Where the unescaped text of the value ends, so trailing spaces that were not escaped are dropped.
  let significantLength = 0;
  const utf8 = new TextEncoder();
  const endAva = (): boolean => {
    if (!inValue || type.trim() === '') return false;
    avas.push({ type: type.trim().toLowerCase(), value: Buffer.from(bytes.slice(0, significantLength)).toString('utf8') });
    type = '';
    bytes = [];
    inValue = false;
    significantLength = 0;
    return true;
  };
  for (let i = 0; i < dn.length; i++) {
    const c = dn[i] as string;
    if (!inValue) {
      if (c === '=') inValue = true;
      else if (',+;\\'.includes(c)) return undefined;
      else type += c;
      continue;
    }
    if (c === '\\') {
      const hex = dn.slice(i + 1, i + 3);
      if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
        bytes.push(parseInt(hex, 16));
        i += 2;
      } else if (i + 1 < dn.length) {
        bytes.push(...utf8.encode(dn[i + 1] as string));
        i += 1;
      } else {
        return undefined;
      }
      significantLength = bytes.length;
    } else if (c === ',' || c === ';' || c === '+') {
      if (!endAva()) return undefined;
      if (c !== '+') {
        rdns.push(avas);
        avas = [];
      }
    } else if (c === ' ' && bytes.length === 0) {
      // Spaces between '=' and the value are not part of it.
    } else {
      bytes.push(...utf8.encode(c));
      if (c !== ' ') significantLength = bytes.length;
    }
  }
  if (!endAva()) return undefined;
  rdns.push(avas);
  return rdns;
}

/** A key equal for two DNs that name the same entry (types and values compared case-insensitively). */
export function normalizeDn(dn: string): string | undefined {
  const rdns = parseDn(dn);
  return rdns && normalizedKeyOf(rdns);
}

/**
 * normalizeDn of a DN and its common name (the value of the first RDN's `cn`, undefined when the DN
 * starts otherwise), parsed once: a user's groups are read on every login.
 */
export function readDn(dn: string): { readonly normalized: string; readonly commonName: string | undefined } | undefined {
  const rdns = parseDn(dn);
  return rdns && { normalized: normalizedKeyOf(rdns), commonName: commonNameIn(rdns) };
}

function normalizedKeyOf(rdns: AttributeValueAssertion[][]): string {
  return rdns.map((avas) => avas.map((a) => `${a.type}=${a.value.toLowerCase()}`).sort().join('\u0000+')).join('\u0000,');
}

function commonNameIn(rdns: AttributeValueAssertion[][]): string | undefined {
  return rdns[0]?.find((a) => a.type === 'cn')?.value;
}
