// Request headers as Node's IncomingMessage.headersDistinct gives them (lower-case names, each
// value a list), while also accepting names in any case from other callers.

export type RequestHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

/**
 * The same headers keyed by lower-case name. Node already lower-cases them, so the usual case
 * returns the object as it is; otherwise names differing only in case are merged, in order, so
 * that `Host` and `host` cannot pose as two headers.
 */
export function lowerCaseHeaders(headers: RequestHeaders): RequestHeaders {
  let allLower = true;
  for (const name in headers) {
    if (name !== name.toLowerCase()) {
      allLower = false;
      break;
    }
  }
  if (allLower) return headers;
  const merged: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const lower = name.toLowerCase();
    (merged[lower] ??= []).push(...(typeof value === 'string' ? [value] : value));
  }
  return merged;
}

/** The values of one header (by lower-case name), or undefined when it is absent. */
export function headerValues(headers: RequestHeaders, lowerCaseName: string): readonly string[] | undefined {
  if (!Object.hasOwn(headers, lowerCaseName)) return undefined;
  const value = headers[lowerCaseName];
  if (value === undefined) return undefined;
  return typeof value === 'string' ? [value] : value.length === 0 ? undefined : value;
}

/** The value of a header that must appear at most once: undefined if absent, null if repeated. */
export function singleHeader(headers: RequestHeaders, lowerCaseName: string): string | undefined | null {
  const values = headerValues(headers, lowerCaseName);
  if (values === undefined) return undefined;
  return values.length === 1 ? (values[0] as string) : null;
}
