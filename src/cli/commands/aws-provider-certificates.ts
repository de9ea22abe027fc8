import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { recordAdminEvent } from '../../audit/admin-audit';
import { ALERTS } from '../../audit/alerts';
import { addSamlProviderCertificate } from '../../aws/aws-admin';
import { PIN_MOVES, type PinMove } from '../../keys/pin-policy';
import { HELP_FLAG, HOME_FLAG, UsageError } from '../args';
import { pinScheduleFlags, readPinSchedule } from '../pin-schedule-flags';
import type { Command } from '../command';
import { withInstance } from '../with-instance';

// `sts aws provider cert …`: the lifecycle of an AWS SAML provider's signing certificates, as
// `sts trust` gives the pins of external token issuers. AssumeRoleWithSAML reads a certificate's
// state when it checks a signature, so every change applies to the next request on every node.

export const awsProviderCertAddCommand: Command = {
  name: 'aws provider cert add',
  usage: 'sts aws provider cert add NAME --cert PEM_FILE [--pending [--activate-at TIME]] [--retire-at TIME]',
  summary:
    'Adds a signing certificate to the SAML provider NAME: AssumeRoleWithSAML accepts its assertions signed with it\n' +
    'while it is active. --pending adds a partner\'s next certificate ahead of its rollover: it counts once promoted\n' +
    '(`sts aws provider cert promote`) or from --activate-at. --retire-at stops it counting at that time. Adding a\n' +
    'certificate is an alert in the audit trail (saml-provider-certificate-added): a new trusted signer is what a\n' +
    'Golden or Silver SAML attacker needs.',
  flags: [
    HOME_FLAG,
    { name: 'cert', kind: 'string', help: 'the provider\'s signing certificate (PEM)' },
    ...pinScheduleFlags('add'),
    HELP_FLAG,
  ],
  async run(args, io) {
    const [provider, ...extra] = args.positionals;
    const file = args.strings.get('cert');
    if (provider === undefined || extra.length > 0 || file === undefined) throw new UsageError('give one NAME and --cert');
    const { state, activateAt, retireAt } = readPinSchedule(args);
    let certificatePem: string;
    try {
      certificatePem = readFileSync(file, 'utf8');
      new X509Certificate(certificatePem);
    } catch {
      throw new UsageError(`${file} is not a PEM X.509 certificate (or cannot be read)`);
    }
    const added = await withInstance(args, async (instance) => {
      const certificate = await addSamlProviderCertificate(instance.store, provider, { certificatePem, state, activateAt, retireAt });
      recordAdminEvent(
        instance,
        'AddSamlProviderCertificate',
        { provider, thumbprint: certificate.thumbprint, state, activateAt: activateAt?.toISOString(), retireAt: retireAt?.toISOString() },
        { alert: ALERTS.samlProviderCertificateAdded },
      );
      return certificate;
    });
    io.out(`added certificate ${added.thumbprint} to SAML provider ${provider} (${state})\n`);
    return 0;
  },
};

/** `sts aws provider cert promote|retire|revoke NAME THUMBPRINT`: one lifecycle move each. */
function certificateStateCommand(name: PinMove, summary: string, eventName: string): Command {
  const { from, to } = PIN_MOVES[name];
  return {
    name: `aws provider cert ${name}`,
    usage: `sts aws provider cert ${name} NAME THUMBPRINT`,
    summary,
    flags: [HOME_FLAG, HELP_FLAG],
    async run(args, io) {
      const [provider, given, ...extra] = args.positionals;
      if (provider === undefined || given === undefined || extra.length > 0) throw new UsageError('give one NAME and one THUMBPRINT');
      const thumbprint = given.toLowerCase();
      const moved = await withInstance(args, async (instance) => {
        const ok = await instance.store.samlProviders.setCertificateState(provider, thumbprint, from, to, new Date());
        if (ok) recordAdminEvent(instance, eventName, { provider, thumbprint, state: to });
        return ok;
      });
      if (!moved) {
        io.err(`SAML provider ${provider} has no certificate ${thumbprint} in state ${from.join(' or ')}; \`sts aws provider list\` shows them\n`);
        return 1;
      }
      io.out(`certificate ${thumbprint} of SAML provider ${provider} is now ${to}\n`);
      return 0;
    },
  };
}

export const awsProviderCertPromoteCommand = certificateStateCommand(
  'promote',
  'Makes a pending certificate of a SAML provider active: assertions signed with it are accepted from now on.',
  'PromoteSamlProviderCertificate',
);
export const awsProviderCertRetireCommand = certificateStateCommand(
  'retire',
  'Retires a certificate of a SAML provider: assertions signed with it are refused from now on (the end of a rollover).',
  'RetireSamlProviderCertificate',
);
export const awsProviderCertRevokeCommand = certificateStateCommand(
  'revoke',
  'Revokes a certificate of a SAML provider (the partner\'s key was compromised): assertions signed with it are\n' +
    'refused at once, and the record stays so `sts aws provider list` shows it was revoked.',
  'RevokeSamlProviderCertificate',
);

export const awsProviderCertRemoveCommand: Command = {
  name: 'aws provider cert remove',
  usage: 'sts aws provider cert remove NAME THUMBPRINT',
  summary: 'Removes a certificate from a SAML provider (by its SHA-256 thumbprint, as `sts aws provider list` shows it).',
  flags: [HOME_FLAG, HELP_FLAG],
  async run(args, io) {
    const [provider, given, ...extra] = args.positionals;
    if (provider === undefined || given === undefined || extra.length > 0) throw new UsageError('give one NAME and one THUMBPRINT');
    const thumbprint = given.toLowerCase();
    const removed = await withInstance(args, async (instance) => {
      const ok = await instance.store.samlProviders.removeCertificate(provider, thumbprint);
      if (ok) recordAdminEvent(instance, 'RemoveSamlProviderCertificate', { provider, thumbprint });
      return ok;
    });
    if (!removed) {
      io.err(`SAML provider ${provider} has no certificate ${thumbprint}\n`);
      return 1;
    }
    io.out(`removed certificate ${thumbprint} from SAML provider ${provider}\n`);
    return 0;
  },
};
