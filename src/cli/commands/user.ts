import { HELP_FLAG, HOME_FLAG, UsageError } from '../args';
import { readPassword, type Command } from '../command';
import { withInstance } from '../with-instance';
import { addUser } from '../../identity/user-admin';
import type { Claim } from '../../store/store';
import { awsRoleClaim } from '../../aws/role-claim';
import { recordAdminEvent } from '../../audit/admin-audit';
import { lockedOutUntil } from '../../identity/password-lockout';

export const userAddCommand: Command = {
  name: 'user add',
  usage: 'sts user add NAME [--claim NAME=VALUE]... [--aws-role ROLE]... [--allow-digest] < password',
  summary:
    'Adds a user. The password is read from standard input (its first line) and stored as an scrypt hash.\n' +
    '--allow-digest also keeps it sealed under the master key, which WS-Security PasswordDigest needs.\n' +
    '--aws-role grants an AWS role (a name or ARN): the AWS relying party\'s assertions then carry it in\n' +
    'their Role attribute, paired with Trustbridge\'s own SAML provider.',
  flags: [
    HOME_FLAG,
    { name: 'claim', kind: 'repeatable', help: 'a claim NAME=VALUE the user carries' },
    { name: 'aws-role', kind: 'repeatable', help: 'an AWS role (name or ARN) the user may assume' },
    { name: 'allow-digest', kind: 'boolean', help: 'allow UsernameToken PasswordDigest for this user' },
    HELP_FLAG,
  ],
  async run(args, io) {
    const [name, ...extra] = args.positionals;
    if (name === undefined || extra.length > 0) throw new UsageError('give exactly one user NAME');
    const claims = (args.repeated.get('claim') ?? []).map(parseClaim);
    const password = await readPassword(io);
    await withInstance(args, async (instance) => {
      const roles = (args.repeated.get('aws-role') ?? []).map((role) => awsRoleClaim(instance.config.aws, role));
      await addUser(instance.store, instance.masterKey, {
        name,
        password,
        claims: [...claims, ...roles],
        allowPasswordDigest: args.booleans.has('allow-digest'),
      });
    });
    io.out(`added user ${name}\n`);
    return 0;
  },
};

export const userListCommand: Command = {
  name: 'user list',
  usage: 'sts user list [--home DIR]',
  summary: 'Lists the users, their claims and their wrong passwords since the last right one (never their passwords).',
  flags: [HOME_FLAG, HELP_FLAG],
  async run(args, io) {
    await withInstance(args, async (instance) => {
      const now = new Date();
      for (const u of await instance.store.users.list()) {
        const digest = u.sealedPassword === null ? '' : ' [PasswordDigest allowed]';
        io.out(`${u.name}${digest}\n`);
        if (u.failedLogins > 0) {
          const until = lockedOutUntil(u, instance.config.passwordLockout, now);
          const locked = until === undefined ? '' : `; locked out until ${until.toISOString()}`;
          io.out(`  ${u.failedLogins} wrong password${u.failedLogins === 1 ? '' : 's'}, the last at ${u.lastFailedAt?.toISOString()}${locked}\n`);
        }
        for (const c of u.claims) io.out(`  ${c.name} = ${c.value}\n`);
      }
    });
    return 0;
  },
};

export const userUnlockCommand: Command = {
  name: 'user unlock',
  usage: 'sts user unlock NAME [--home DIR]',
  summary:
    'Forgets a user\'s wrong passwords, ending a lockout at once (AD FS\'s Reset-AdfsAccountLockout).\n' +
    'Every node sees it at the user\'s next password check; the audit trail records it (UnlockUser).',
  flags: [HOME_FLAG, HELP_FLAG],
  async run(args, io) {
    const [name, ...extra] = args.positionals;
    if (name === undefined || extra.length > 0) throw new UsageError('give exactly one user NAME');
    const failures = await withInstance(args, async (instance) => {
      const user = await instance.store.users.get(name);
      if (!user) return undefined;
      await instance.store.users.clearFailedLogins(name);
      recordAdminEvent(instance, 'UnlockUser', { user: name }, { responseElements: { forgottenFailures: user.failedLogins } });
      return user.failedLogins;
    });
    if (failures === undefined) {
      io.err(`no user ${name} in the store\n`);
      return 1;
    }
    io.out(`unlocked ${name} (${failures} wrong password${failures === 1 ? '' : 's'} forgotten)\n`);
    return 0;
  },
};

function parseClaim(text: string): Claim {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new UsageError(`--claim takes NAME=VALUE, not "${text}"`);
  return { name: text.slice(0, eq), value: text.slice(eq + 1) };
}
