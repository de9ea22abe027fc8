import { HELP_FLAG, HOME_FLAG, UsageError, integerFlag } from '../args';
import type { Command } from '../command';
import { addRelyingParty, DEFAULT_TOKEN_LIFETIME_SECONDS } from '../../core/relying-party-admin';
import { openInstance } from '../../instance/open-instance';
import { resolveHome } from '../../instance/paths';

export const rpAddCommand: Command = {
  name: 'rp add',
  usage: 'sts rp add APPLIES_TO [--name TEXT] [--lifetime SECONDS] [--claim NAME]... [--endpoint URL] [--name-id-format URI]',
  summary:
    'Registers a relying party. APPLIES_TO is the address clients put in wsp:AppliesTo and the token\'s Audience.\n' +
    'Only the claims named with --claim are released to it (--claim "*" releases all).',
  flags: [
    HOME_FLAG,
    { name: 'name', kind: 'string', help: 'display name' },
    { name: 'lifetime', kind: 'string', help: `token lifetime and the longest a request may ask for (default ${DEFAULT_TOKEN_LIFETIME_SECONDS})` },
    { name: 'claim', kind: 'repeatable', help: 'a claim name to release' },
    { name: 'endpoint', kind: 'string', help: 'the URL that receives tokens (the bearer Recipient)' },
    { name: 'name-id-format', kind: 'string', help: 'NameID Format URI (default unspecified)' },
    HELP_FLAG,
  ],
  async run(args, io) {
    const [appliesTo, ...extra] = args.positionals;
    if (appliesTo === undefined || extra.length > 0) throw new UsageError('give exactly one APPLIES_TO');
    const lifetime = integerFlag(args, 'lifetime');
    const optional = <T>(key: string, value: T | undefined): Record<string, T> => (value === undefined ? {} : { [key]: value });
    const instance = openInstance(resolveHome(args.strings.get('home')));
    try {
      await addRelyingParty(instance.store, {
        appliesTo,
        releasedClaims: args.repeated.get('claim') ?? [],
        ...optional('displayName', args.strings.get('name')),
        ...optional('tokenLifetimeSeconds', lifetime),
        ...optional('endpointUrl', args.strings.get('endpoint')),
        ...optional('nameIdFormat', args.strings.get('name-id-format')),
      });
    } finally {
      await instance.close();
    }
    io.out(`added relying party ${appliesTo}\n`);
    return 0;
  },
};

export const rpListCommand: Command = {
  name: 'rp list',
  usage: 'sts rp list [--home DIR]',
  summary: 'Lists the relying parties with their token lifetime and released claims.',
  flags: [HOME_FLAG, HELP_FLAG],
  async run(args, io) {
    const instance = openInstance(resolveHome(args.strings.get('home')));
    try {
      for (const rp of await instance.store.relyingParties.list()) {
        io.out(`${rp.appliesTo}  (${rp.displayName})\n`);
        io.out(`  lifetime ${rp.tokenLifetimeSeconds}s, NameID format ${rp.nameIdFormat}\n`);
        if (rp.endpointUrl) io.out(`  endpoint ${rp.endpointUrl}\n`);
        io.out(`  releases ${rp.releasedClaims.length === 0 ? '(no claims)' : rp.releasedClaims.join(', ')}\n`);
      }
    } finally {
      await instance.close();
    }
    return 0;
  },
};
