import { readFileSync } from 'node:fs';
import { recordAdminEvent } from '../../audit/admin-audit';
import { ALERTS } from '../../audit/alerts';
import { addAwsRole, addSamlProvider } from '../../aws/aws-admin';
import { roleArn, samlProviderArn } from '../../aws/arn';
import type { SamlReplayMode } from '../../store/store';
import { HELP_FLAG, HOME_FLAG, integerFlag, UsageError } from '../args';
import type { Command } from '../command';
import { describePin } from '../pin-schedule-flags';
import { withInstance } from '../with-instance';

const REPLAY_MODES: readonly SamlReplayMode[] = ['off', 'once-per-role', 'once'];

export const awsProviderAddCommand: Command = {
  name: 'aws provider add',
  usage: 'sts aws provider add NAME --metadata FILE [--replay off|once-per-role|once]',
  summary:
    'Registers a SAML identity provider for AssumeRoleWithSAML from its metadata (its entityID and up to 10\n' +
    'signing certificates, which start active), as arn:aws:iam::ACCOUNT:saml-provider/NAME. Trustbridge itself is\n' +
    'registered already, under the config\'s aws.providerName. --replay: off (as AWS), once-per-role (default) or\n' +
    'once. Registering is an alert in the audit trail (saml-provider-certificate-added): new signers are trusted.',
  flags: [
    HOME_FLAG,
    { name: 'metadata', kind: 'string', help: 'the provider\'s SAML 2.0 metadata (md:EntityDescriptor) file' },
    { name: 'replay', kind: 'string', help: 'how often one assertion may be exchanged (default once-per-role)' },
    HELP_FLAG,
  ],
  async run(args, io) {
    const [name, ...extra] = args.positionals;
    const file = args.strings.get('metadata');
    if (name === undefined || extra.length > 0 || file === undefined) throw new UsageError('give one NAME and --metadata');
    const replay = (args.strings.get('replay') ?? 'once-per-role') as SamlReplayMode;
    if (!REPLAY_MODES.includes(replay)) throw new UsageError(`--replay must be one of ${REPLAY_MODES.join(', ')}`);
    await withInstance(args, async (instance) => {
      const { accountId, providerName } = instance.config.aws;
      const added = await addSamlProvider(instance.store, accountId, providerName, { name, metadataXml: readFileSync(file, 'utf8'), replay });
      recordAdminEvent(
        instance,
        'AddSamlProvider',
        { provider: name, entityId: added.entityId, thumbprints: added.thumbprints, state: 'active', replay },
        { alert: ALERTS.samlProviderCertificateAdded },
      );
      io.out(`added SAML provider ${added.arn}\n`);
    });
    return 0;
  },
};

export const awsProviderListCommand: Command = {
  name: 'aws provider list',
  usage: 'sts aws provider list',
  summary:
    'Lists the SAML providers AssumeRoleWithSAML accepts, Trustbridge itself first, with each certificate\'s\n' +
    'SHA-256 thumbprint, subject, expiry, the state it is in now and its schedule.',
  flags: [HOME_FLAG, HELP_FLAG],
  async run(args, io) {
    await withInstance(args, async (instance) => {
      const { accountId, providerName, replay } = instance.config.aws;
      const now = new Date();
      io.out(`${samlProviderArn(accountId, providerName)}\n  issuer ${instance.config.issuer} (Trustbridge itself), replay ${replay}\n`);
      for (const p of await instance.store.samlProviders.list()) {
        io.out(`${samlProviderArn(accountId, p.name)}\n  issuer ${p.entityId}, ${p.certificates.length} certificate(s), replay ${p.replay}\n`);
        for (const c of p.certificates) io.out(describePin(c, now, '    '));
      }
    });
    return 0;
  },
};

export const awsRoleAddCommand: Command = {
  name: 'aws role add',
  usage: 'sts aws role add NAME --trust-policy FILE [--max-session-duration SECONDS] [--policy FILE]',
  summary:
    'Creates arn:aws:iam::ACCOUNT:role/NAME with an IAM trust policy (JSON) that decides who may assume it\n' +
    'with AssumeRoleWithSAML, a maximum session of 3600 (default) to 43200 seconds, and a permissions policy.',
  flags: [
    HOME_FLAG,
    { name: 'trust-policy', kind: 'string', help: 'the trust policy document (JSON file)' },
    { name: 'max-session-duration', kind: 'string', help: 'longest session in seconds (3600 to 43200; default 3600)' },
    { name: 'policy', kind: 'string', help: 'the role\'s permissions policy (JSON file)' },
    HELP_FLAG,
  ],
  async run(args, io) {
    const [name, ...extra] = args.positionals;
    const trustFile = args.strings.get('trust-policy');
    if (name === undefined || extra.length > 0 || trustFile === undefined) throw new UsageError('give one NAME and --trust-policy');
    const policyFile = args.strings.get('policy');
    const maxSession = integerFlag(args, 'max-session-duration');
    await withInstance(args, async (instance) => {
      const arn = await addAwsRole(instance.store, instance.config.aws.accountId, {
        name,
        trustPolicy: readFileSync(trustFile, 'utf8'),
        ...(maxSession === undefined ? {} : { maxSessionDurationSeconds: maxSession }),
        ...(policyFile === undefined ? {} : { permissionsPolicy: readFileSync(policyFile, 'utf8') }),
      });
      io.out(`added role ${arn}\n`);
    });
    return 0;
  },
};

export const awsRoleListCommand: Command = {
  name: 'aws role list',
  usage: 'sts aws role list',
  summary: 'Lists the roles with their ids and maximum session durations.',
  flags: [HOME_FLAG, HELP_FLAG],
  async run(args, io) {
    await withInstance(args, async (instance) => {
      for (const r of await instance.store.awsRoles.list()) {
        io.out(`${roleArn(instance.config.aws.accountId, r.name)}\n  id ${r.roleId}, max session ${r.maxSessionDurationSeconds} s\n`);
      }
    });
    return 0;
  },
};
