// IAM's wildcards: `*` matches any run of characters (none included), `?` exactly one. Matching walks
// the pattern with a single backtrack point instead of compiling a RegExp: patterns come from policy
// authors and values from SAML assertions, and a pattern such as `*a*a*a*a*b` must not be able to
// make one match cost polynomial time. Characters are code points, so `?` matches one emoji.

const ANY_RUN = Symbol('*');
const ANY_ONE = Symbol('?');

export type GlobToken = string | typeof ANY_RUN | typeof ANY_ONE;
export type Glob = readonly GlobToken[];

/** A pattern in which every `*` and `?` is a wildcard. */
export function globOf(pattern: string): GlobToken[] {
  return Array.from(pattern, (char) => (char === '*' ? ANY_RUN : char === '?' ? ANY_ONE : char));
}

/** Text that matches only itself, even where it contains `*` or `?`. */
export function literalGlob(text: string): GlobToken[] {
  return Array.from(text);
}

export function globMatches(glob: Glob, text: string): boolean {
  const chars = Array.from(text);
  let g = 0;
  let t = 0;
  // Where the last `*` was, and how much of the text it has swallowed so far.
  let starAt = -1;
  let starEnd = 0;
  while (t < chars.length) {
    const token = glob[g];
    if (g < glob.length && (token === ANY_ONE || token === chars[t])) {
      g++;
      t++;
    } else if (g < glob.length && token === ANY_RUN) {
      starAt = g++;
      starEnd = t;
    } else if (starAt >= 0) {
      g = starAt + 1;
      t = ++starEnd;
    } else {
      return false;
    }
  }
  while (g < glob.length && glob[g] === ANY_RUN) g++;
  return g === glob.length;
}

export function wildcardMatches(pattern: string, text: string): boolean {
  return globMatches(globOf(pattern), text);
}
