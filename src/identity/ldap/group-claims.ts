import type { Claim } from '../../store/store';
import { normalizeDn, readDn } from './distinguished-name';
import type { GroupClaim } from './ldap-settings';

/**
 * The claims a user's groups grant. A mapping names a group by DN (exact, compared as a directory
 * compares DNs) or by bare common name (any group with that CN, wherever it sits in the tree).
 */
export class GroupClaims {
  private readonly byDn = new Map<string, Claim[]>();
  private readonly byCommonName = new Map<string, Claim[]>();

  constructor(mappings: readonly GroupClaim[]) {
    for (const { group, claim } of mappings) {
      const dn = group.includes('=') ? normalizeDn(group) : undefined;
      const [table, key] = dn !== undefined ? [this.byDn, dn] : [this.byCommonName, group.trim().toLowerCase()];
      const claims = table.get(key) ?? [];
      claims.push(claim);
      table.set(key, claims);
    }
  }

  get empty(): boolean {
    return this.byDn.size === 0 && this.byCommonName.size === 0;
  }

  /** The claims for these group DNs, each claim once. */
  claimsFor(groupDns: readonly string[]): Claim[] {
    const out = new Map<string, Claim>();
    for (const dn of groupDns) {
      const read = readDn(dn);
      if (!read) continue;
      const cn = read.commonName?.toLowerCase();
      const found = [...(this.byDn.get(read.normalized) ?? []), ...(cn !== undefined ? (this.byCommonName.get(cn) ?? []) : [])];
      for (const claim of found) out.set(`${claim.name}\u0000${claim.value}`, claim);
    }
    return [...out.values()];
  }
}
