import { HELP_FLAG, UsageError } from '../args';
import { readPassword, type Command } from '../command';
import { CA_FLAG, STS_FLAG, stsAgent } from '../clients/client-options';
import { TOKEN_TYPE } from '../../xml/namespaces';
import { requestTokenOverWsTrust } from '../clients/ws-trust-client';

const TOKEN_TYPES: Record<string, string> = { saml2: TOKEN_TYPE.saml20, saml11: TOKEN_TYPE.saml11 };

/** Asks a running STS for a token over WS-Trust, as a WSDL-driven client does, and prints it as received. */
export const tokenCommand: Command = {
  name: 'token',
  usage: 'sts token --sts URL --applies-to URI --user NAME [--version 1.3|2005] [--token-type saml2|saml11] [--ca PEM_FILE] < password',
  summary: 'Requests a token from a running STS over WS-Trust (the password is read from standard input) and prints it.',
  flags: [
    STS_FLAG,
    { name: 'applies-to', kind: 'string', help: 'the relying party (wsp:AppliesTo)' },
    { name: 'user', kind: 'string', help: 'user name for the UsernameToken' },
    { name: 'version', kind: 'string', help: 'WS-Trust version: 1.3 (default) or 2005' },
    { name: 'token-type', kind: 'string', help: 'saml2 (default) or saml11' },
    CA_FLAG,
    { name: 'digest', kind: 'boolean', help: 'send a PasswordDigest instead of PasswordText' },
    HELP_FLAG,
  ],
  async run(args, io) {
    const base = args.strings.get('sts');
    const appliesTo = args.strings.get('applies-to');
    const user = args.strings.get('user');
    if (!base || !appliesTo || !user) throw new UsageError('--sts, --applies-to and --user are required');
    const version = args.strings.get('version') ?? '1.3';
    if (version !== '1.3' && version !== '2005') throw new UsageError('--version must be 1.3 or 2005');
    const tokenType = TOKEN_TYPES[args.strings.get('token-type') ?? 'saml2'];
    if (!tokenType) throw new UsageError('--token-type must be saml2 or saml11');
    const password = await readPassword(io);
    const caFile = args.strings.get('ca');
    const agent = stsAgent(caFile);
    try {
      const token = await requestTokenOverWsTrust({
        sts: base,
        appliesTo,
        user,
        password,
        version,
        tokenTypeUri: tokenType,
        passwordDigest: args.booleans.has('digest'),
        agent,
      });
      io.out(`${token}\n`);
      return 0;
    } catch (err) {
      io.err(`sts token: ${(err as Error).message}\n`);
      return 1;
    } finally {
      agent.destroy();
    }
  },
};
