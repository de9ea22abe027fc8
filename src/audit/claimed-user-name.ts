// The user name a refused login claimed, as the audit trail keeps it. It is whatever the caller
// typed or forged, so it is bounded and made inert before it is stored: at most MAX_LENGTH
// characters, and every character that could rewrite a terminal or a log line (controls, format
// characters such as bidi overrides, line separators, lone surrogates) written as a visible \uXXXX (\u{XXXXX} above U+FFFF).

/** Room for any account name in use, and for enough of an oversized one to recognise it. */
export const CLAIMED_USER_NAME_MAX_LENGTH = 256;

/** What the audit trail keeps of a claimed user name. */
export interface ClaimedUserName {
  /** The name, escaped and capped: what `sts audit tail --claimed-user` matches. */
  readonly name: string;
  /** The length of the name as sent, when it was cut to fit; undefined when it was kept whole. */
  readonly truncatedFrom?: number;
}

const INVISIBLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u;

// \uXXXX for the Basic Multilingual Plane; \u{XXXXX} above it, so five hex digits never read as four and a character.
const escaped = (char: string): string => {
  if (!INVISIBLE.test(char)) return char;
  const code = char.codePointAt(0) as number;
  return code > 0xffff ? `\\u{${code.toString(16)}}` : `\\u${code.toString(16).padStart(4, '0')}`;
};

export function claimedUserName(sent: string): ClaimedUserName {
  let name = '';
  // By code point, so a surrogate pair is never split; an escape is kept whole or left out.
  for (const char of sent) {
    const piece = escaped(char);
    if (name.length + piece.length > CLAIMED_USER_NAME_MAX_LENGTH) return { name, truncatedFrom: sent.length };
    name += piece;
  }
  return { name };
}

/**
 * A claimed name as a refusal's detail quotes it in the log: the same bounded, inert form, with the
 * length sent when it was cut (a 10,000-character name would otherwise go to the log whole).
 */
export function quotedClaimedUserName(sent: string): string {
  const { name, truncatedFrom } = claimedUserName(sent);
  return truncatedFrom === undefined ? `"${name}"` : `"${name}" (cut from ${truncatedFrom} characters)`;
}
