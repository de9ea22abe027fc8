import { parseRoleAttributeValue } from '../../aws/role-claim';
import { AWS_SAML } from '../../core/aws-saml';
import { attribute, childrenNamed, textOf } from '../../xml/dom';
import { NS, TOKEN_TYPE } from '../../xml/namespaces';
import { parseXmlSafely } from '../../xml/safe-parse';
import { HELP_FLAG, integerFlag, UsageError } from '../args';
import { writeAwsProfile } from '../clients/aws-credentials-file';
import { assumeRoleWithSaml, type AwsCredentials } from '../clients/aws-sts-client';
import { requestTokenOverWsTrust } from '../clients/ws-trust-client';
import { readPassword, type Command } from '../command';
import { CA_FLAG, STS_FLAG, stsAgent } from '../clients/client-options';

/**
 * What saml2aws does for AD FS: a token for AWS over WS-Trust, exchanged with AssumeRoleWithSAML for
 * credentials, printed as `export` lines or written to an AWS CLI profile.
 */
export const awsLoginCommand: Command = {
  name: 'aws login',
  usage: 'sts aws login --sts URL --user NAME [--role ARN] [--profile NAME] [--duration SECONDS] [--ca PEM_FILE] < password',
  summary:
    'Gets AWS credentials: asks the STS for a token for urn:amazon:webservices over WS-Trust (the password is\n' +
    'read from standard input), exchanges it with AssumeRoleWithSAML and prints `export AWS_...` lines, or writes\n' +
    'them to the AWS CLI profile named by --profile. Without --role and with several roles granted, lists them.',
  flags: [
    STS_FLAG,
    { name: 'user', kind: 'string', help: 'user name' },
    { name: 'role', kind: 'string', help: 'the role ARN to assume (one of those the assertion grants)' },
    { name: 'aws-endpoint', kind: 'string', help: 'the AWS STS endpoint for AssumeRoleWithSAML (default: the --sts URL)' },
    { name: 'profile', kind: 'string', help: 'write the credentials to this AWS CLI profile instead of printing them' },
    { name: 'credentials-file', kind: 'string', help: 'the AWS credentials file (default $AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials)' },
    { name: 'duration', kind: 'string', help: 'session length in seconds (900 to the role\'s maximum; default 3600)' },
    CA_FLAG,
    HELP_FLAG,
  ],
  async run(args, io) {
    const sts = args.strings.get('sts');
    const user = args.strings.get('user');
    if (!sts || !user) throw new UsageError('--sts and --user are required');
    const duration = integerFlag(args, 'duration');
    const password = await readPassword(io);
    const caFile = args.strings.get('ca');
    const agent = stsAgent(caFile);
    try {
      const token = await requestTokenOverWsTrust({
        sts,
        appliesTo: AWS_SAML.appliesTo,
        user,
        password,
        version: '1.3',
        tokenTypeUri: TOKEN_TYPE.saml20,
        passwordDigest: false,
        agent,
      });
      const roles = grantedRoles(token);
      if (roles.length === 0) {
        io.err('sts aws login: the token grants no AWS role (the user has no Role attribute)\n');
        return 1;
      }
      const wanted = args.strings.get('role');
      const chosen = wanted === undefined && roles.length === 1 ? roles[0] : roles.find((r) => r.roleArn === wanted);
      if (!chosen) {
        io.out(roles.map((r) => `${r.roleArn}\n`).join(''));
        io.err(wanted === undefined ? 'sts aws login: several roles are granted; choose one with --role\n' : `sts aws login: ${wanted} is not granted to ${user}\n`);
        return 1;
      }
      const credentials = await assumeRoleWithSaml(args.strings.get('aws-endpoint') ?? sts, agent, {
        ...chosen,
        samlAssertion: Buffer.from(token, 'utf8').toString('base64'),
        ...(duration === undefined ? {} : { durationSeconds: duration }),
      });
      const profile = args.strings.get('profile');
      if (profile === undefined) {
        io.out(exportLines(credentials));
      } else {
        const file = writeAwsProfile(profile, credentials, args.strings.get('credentials-file'));
        io.out(`wrote credentials for ${credentials.assumedRoleArn} to profile ${profile} in ${file} (expire ${credentials.expiration})\n`);
      }
      return 0;
    } catch (err) {
      io.err(`sts aws login: ${(err as Error).message}\n`);
      return 1;
    } finally {
      agent.destroy();
    }
  },
};

/** The (role, provider) pairs of the token's Role attribute; read only to offer a choice, the STS verifies. */
function grantedRoles(token: string): { roleArn: string; principalArn: string }[] {
  const assertion = parseXmlSafely(token, { maxBytes: 1024 * 1024, maxDepth: 32, maxElements: 5000, maxAttributesPerElement: 32 }).documentElement;
  if (!assertion) return [];
  const values = childrenNamed(assertion, NS.saml2, 'AttributeStatement')
    .flatMap((s) => childrenNamed(s, NS.saml2, 'Attribute'))
    .filter((a) => attribute(a, 'Name') === AWS_SAML.role)
    .flatMap((a) => childrenNamed(a, NS.saml2, 'AttributeValue').map(textOf));
  return values.flatMap((value) => {
    const pair = parseRoleAttributeValue(value);
    return pair ? [{ roleArn: pair.roleArn, principalArn: pair.providerArn }] : [];
  });
}

function exportLines(c: AwsCredentials): string {
  return (
    `export AWS_ACCESS_KEY_ID=${c.accessKeyId}\n` +
    `export AWS_SECRET_ACCESS_KEY=${c.secretAccessKey}\n` +
    `export AWS_SESSION_TOKEN=${c.sessionToken}\n` +
    `export AWS_CREDENTIAL_EXPIRATION=${c.expiration}\n`
  );
}
