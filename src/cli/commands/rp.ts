import { readFileSync } from 'node:fs';
import { HELP_FLAG, HOME_FLAG, UsageError, integerFlag } from '../args';
import type { Command } from '../command';
import { withInstance } from '../with-instance';
import { addRelyingParty, DEFAULT_TOKEN_LIFETIME_SECONDS } from '../../core/relying-party-admin';

export const rpAddCommand: Command = {
  name: 'rp add',
  usage:
    'sts rp add APPLIES_TO [--name TEXT] [--lifetime SECONDS] [--claim NAME]... [--endpoint URL] [--name-id-format URI]\n' +
    '              [--encryption-cert PEM_FILE] [--encryption-algorithm aes256-cbc|aes256-gcm] [--expired-renewal-window SECONDS]\n' +
    '              [--audience URI] [--profile generic|aws] [--session-duration SECONDS]',
  summary:
    'Registers a relying party. APPLIES_TO is the address clients put in wsp:AppliesTo and the token\'s Audience.\n' +
    'Only the claims named with --claim are released to it (--claim "*" releases all). --profile aws adds what AWS\n' +
    'requires (RoleSessionName, SessionDuration, the user\'s AWS Role attributes); `sts init` creates that trust\n' +
    'as urn:amazon:webservices.',
  flags: [
    HOME_FLAG,
    { name: 'name', kind: 'string', help: 'display name' },
    { name: 'lifetime', kind: 'string', help: `token lifetime and the longest a request may ask for (default ${DEFAULT_TOKEN_LIFETIME_SECONDS})` },
    { name: 'claim', kind: 'repeatable', help: 'a claim name to release' },
    { name: 'endpoint', kind: 'string', help: 'the URL that receives tokens (the bearer Recipient)' },
    { name: 'name-id-format', kind: 'string', help: 'NameID Format URI (default unspecified)' },
    { name: 'encryption-cert', kind: 'string', help: 'PEM certificate to encrypt tokens and proof keys for (tokens then go out encrypted)' },
    { name: 'encryption-algorithm', kind: 'string', help: 'aes256-cbc (default: what AD FS and .NET decrypt) or aes256-gcm' },
    { name: 'delegate', kind: 'repeatable', help: 'a user allowed to ask for tokens on behalf of others (OnBehalfOf/ActAs)' },
    { name: 'expired-renewal-window', kind: 'string', help: 'seconds after expiry a token issued with Renewing OK may still be renewed (default 0: never)' },
    { name: 'audience', kind: 'string', help: 'the tokens\' Audience when it is not APPLIES_TO' },
    { name: 'profile', kind: 'string', help: 'generic (default) or aws' },
    { name: 'session-duration', kind: 'string', help: 'aws profile: the SessionDuration attribute in seconds (900 to 43200)' },
    HELP_FLAG,
  ],
  async run(args, io) {
    const [appliesTo, ...extra] = args.positionals;
    const algorithm = args.strings.get('encryption-algorithm');
    if (algorithm !== undefined && algorithm !== 'aes256-cbc' && algorithm !== 'aes256-gcm') {
      throw new UsageError('--encryption-algorithm must be aes256-cbc or aes256-gcm');
    }
    const certificateFile = args.strings.get('encryption-cert');
    const encryptionCertificatePem = certificateFile === undefined ? undefined : readFileSync(certificateFile, 'utf8');
    if (appliesTo === undefined || extra.length > 0) throw new UsageError('give exactly one APPLIES_TO');
    const profile = args.strings.get('profile');
    if (profile !== undefined && profile !== 'generic' && profile !== 'aws') throw new UsageError('--profile must be generic or aws');
    const lifetime = integerFlag(args, 'lifetime');
    const optional = <T>(key: string, value: T | undefined): Record<string, T> => (value === undefined ? {} : { [key]: value });
    await withInstance(args, async (instance) => {
      await addRelyingParty(instance.store, {
        appliesTo,
        releasedClaims: args.repeated.get('claim') ?? [],
        delegates: args.repeated.get('delegate') ?? [],
        ...optional('displayName', args.strings.get('name')),
        ...optional('tokenLifetimeSeconds', lifetime),
        ...optional('endpointUrl', args.strings.get('endpoint')),
        ...optional('nameIdFormat', args.strings.get('name-id-format')),
        ...optional('encryptionCertificatePem', encryptionCertificatePem),
        ...optional('tokenEncryption', algorithm),
        ...optional('expiredRenewalWindowSeconds', integerFlag(args, 'expired-renewal-window')),
        ...optional('audience', args.strings.get('audience')),
        ...optional('profile', profile),
        ...optional('sessionDurationSeconds', integerFlag(args, 'session-duration')),
      });
    });
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
    await withInstance(args, async (instance) => {
      for (const rp of await instance.store.relyingParties.list()) {
        io.out(`${rp.appliesTo}  (${rp.displayName})\n`);
        io.out(`  lifetime ${rp.tokenLifetimeSeconds}s, NameID format ${rp.nameIdFormat}\n`);
        if (rp.endpointUrl) io.out(`  endpoint ${rp.endpointUrl}\n`);
        if (rp.audience) io.out(`  audience ${rp.audience}\n`);
        if (rp.profile !== 'generic') io.out(`  profile ${rp.profile}${rp.sessionDurationSeconds === null ? '' : `, session ${rp.sessionDurationSeconds}s`}\n`);
        if (rp.encryptionCertificatePem) io.out(`  tokens encrypted (${rp.tokenEncryption})\n`);
        if (rp.delegates.length > 0) io.out(`  delegation allowed to ${rp.delegates.join(', ')}\n`);
        if (rp.expiredRenewalWindowSeconds > 0) io.out(`  expired tokens renewable for ${rp.expiredRenewalWindowSeconds}s\n`);
        io.out(`  releases ${rp.releasedClaims.length === 0 ? '(no claims)' : rp.releasedClaims.join(', ')}\n`);
      }
    });
    return 0;
  },
};
