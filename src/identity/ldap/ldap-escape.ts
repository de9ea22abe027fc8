// Putting a user-supplied value into an LDAP filter or DN so that it is only ever a value:
// a user name like `*)(uid=*` or `x,ou=admins` must match nothing rather than change the query.

/** RFC 4515 section 3: in a filter's assertion value, `*`, `(`, `)`, `\` and NUL are written as \XX. */
export function escapeFilterValue(value: string): string {
  return value.replace(/[*()\\\u0000]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/**
 * RFC 4514 section 2.4: in a DN's attribute value, the specials `"+,;<>\`, a leading space or `#`,
 * a trailing space and NUL are escaped; so is `=` (allowed escaped), so that a value never reads
 * as another attribute.
 */
export function escapeDnValue(value: string): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i] as string;
    if (c === '\u0000') out += '\\00';
    else if ('"+,;<>=\\'.includes(c)) out += `\\${c}`;
    else if ((c === ' ' || c === '#') && i === 0) out += `\\${c}`;
    else if (c === ' ' && i === value.length - 1) out += '\\ ';
    else out += c;
  }
  return out;
}

/** The template with every `placeholder` replaced by the (already escaped) value. */
export const fillTemplate = (template: string, placeholder: string, escapedValue: string): string =>
  template.split(placeholder).join(escapedValue);
