import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ALERTS } from '../../audit/alerts';
import { recordAdminEvent } from '../../audit/admin-audit';
import { AlreadyExistsError } from '../../store/store';
import { HELP_FLAG, HOME_FLAG, UsageError } from '../args';
import { describePin, pinScheduleFlags, readPinSchedule } from '../pin-schedule-flags';
import type { Command } from '../command';
import { withInstance } from '../with-instance';
import { PIN_MOVES, type PinMove } from '../../keys/pin-policy';
import { certificateThumbprintSha256 } from '../../keys/signing-key';

export const trustPinCommand: Command = {
  name: 'trust pin',
  usage: 'sts trust pin ISSUER --cert PEM_FILE [--pending [--activate-at TIME]] [--retire-at TIME]',
  summary:
    'Pins a certificate for an external token issuer: tokens that name ISSUER as their issuer are accepted (for\n' +
    'OnBehalfOf and ActAs) only when signed by a certificate pinned for it, by SHA-256 thumbprint, whose pin is\n' +
    'active. --pending pins a partner\'s next certificate ahead of its rollover: it counts once promoted\n' +
    '(`sts trust promote`) or from --activate-at. --retire-at stops it counting at that time. Pinning is an alert\n' +
    'in the audit trail (trusted-issuer-pinned): it is what an attacker would do to be trusted.',
  flags: [
    HOME_FLAG,
    { name: 'cert', kind: 'string', help: 'the issuer\'s signing certificate (PEM)' },
    ...pinScheduleFlags('pin'),
    HELP_FLAG,
  ],
  async run(args, io) {
    const [issuer, ...extra] = args.positionals;
    const file = args.strings.get('cert');
    if (issuer === undefined || extra.length > 0 || file === undefined) throw new UsageError('give one ISSUER and --cert');
    const { state, activateAt, retireAt } = readPinSchedule(args);
    let certificatePem: string;
    let thumbprint: string;
    try {
      certificatePem = readFileSync(file, 'utf8');
      thumbprint = certificateThumbprintSha256(new X509Certificate(certificatePem).raw);
    } catch {
      throw new UsageError(`${file} is not a PEM X.509 certificate (or cannot be read)`);
    }
    const pinned = await withInstance(args, async (instance) => {
      const now = new Date();
      try {
        await instance.store.trustedIssuers.pin({ issuer, thumbprint, certificatePem, createdAt: now, state, activateAt, retireAt, stateChangedAt: now });
      } catch (err) {
        if (err instanceof AlreadyExistsError) return false;
        throw err;
      }
      recordAdminEvent(
        instance,
        'PinCertificate',
        { issuer, thumbprint, state, activateAt: activateAt?.toISOString(), retireAt: retireAt?.toISOString() },
        { alert: ALERTS.trustedIssuerPinned },
      );
      return true;
    });
    if (!pinned) {
      io.err(`${thumbprint} is pinned already; \`sts trust list\` shows for which issuer\n`);
      return 1;
    }
    io.out(`pinned ${thumbprint} for ${issuer} (${state})\n`);
    return 0;
  },
};

/** `sts trust promote|retire|revoke THUMBPRINT`: one lifecycle move each. */
function pinStateCommand(name: PinMove, summary: string, eventName: string): Command {
  const { from, to } = PIN_MOVES[name];
  return {
    name: `trust ${name}`,
    usage: `sts trust ${name} THUMBPRINT`,
    summary,
    flags: [HOME_FLAG, HELP_FLAG],
    async run(args, io) {
      const [given, ...extra] = args.positionals;
      if (given === undefined || extra.length > 0) throw new UsageError('give one THUMBPRINT');
      const thumbprint = given.toLowerCase();
      const moved = await withInstance(args, async (instance) => {
        const ok = await instance.store.trustedIssuers.setState(thumbprint, from, to, new Date());
        if (ok) recordAdminEvent(instance, eventName, { thumbprint, state: to });
        return ok;
      });
      if (!moved) {
        io.err(`no pin ${thumbprint} in state ${from.join(' or ')}; \`sts trust list\` shows the pins\n`);
        return 1;
      }
      io.out(`${thumbprint} is now ${to}\n`);
      return 0;
    },
  };
}

export const trustPromoteCommand = pinStateCommand(
  'promote',
  'Makes a pending pin active: the issuer\'s tokens signed with it are accepted from now on.',
  'PromotePin',
);
export const trustRetireCommand = pinStateCommand(
  'retire',
  'Retires a pin: tokens signed with it are refused from now on (the end of a partner\'s rollover).',
  'RetirePin',
);
export const trustRevokeCommand = pinStateCommand(
  'revoke',
  'Revokes a pin (the partner\'s key was compromised): tokens signed with it are refused at once, and the\n' +
    'record stays so `sts trust list` shows it was revoked.',
  'RevokePin',
);

export const trustUnpinCommand: Command = {
  name: 'trust unpin',
  usage: 'sts trust unpin THUMBPRINT',
  summary: 'Removes a pinned certificate (by its SHA-256 thumbprint, as `sts trust list` shows it).',
  flags: [HOME_FLAG, HELP_FLAG],
  async run(args, io) {
    const [given, ...extra] = args.positionals;
    if (given === undefined || extra.length > 0) throw new UsageError('give one THUMBPRINT');
    const thumbprint = given.toLowerCase();
    const unpinned = await withInstance(args, async (instance) => {
      const ok = await instance.store.trustedIssuers.unpin(thumbprint);
      if (ok) recordAdminEvent(instance, 'UnpinCertificate', { thumbprint });
      return ok;
    });
    if (!unpinned) {
      io.err(`no pinned certificate has thumbprint ${thumbprint}\n`);
      return 1;
    }
    io.out(`unpinned ${thumbprint}\n`);
    return 0;
  },
};

export const trustListCommand: Command = {
  name: 'trust list',
  usage: 'sts trust list',
  summary: 'Lists the pinned certificates of external token issuers, with the state each is in now.',
  flags: [HOME_FLAG, HELP_FLAG],
  async run(args, io) {
    await withInstance(args, async (instance) => {
      const now = new Date();
      for (const pin of await instance.store.trustedIssuers.list()) {
        io.out(`${pin.issuer}\n${describePin(pin, now, '  ')}`);
      }
    });
    return 0;
  },
};
