import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import * as soap from 'soap';
import { HELP_FLAG, UsageError } from '../args';
import type { Command } from '../command';
import { TOKEN_TYPE, TRUST13, TRUST2005 } from '../../xml/namespaces';

const TOKEN_TYPES: Record<string, string> = { saml2: TOKEN_TYPE.saml20, saml11: TOKEN_TYPE.saml11 };

/**
 * Asks a running STS for a token the way a WSDL-driven client does: the `soap` package loads the
 * mex WSDL and calls Issue with a WS-Security UsernameToken. The assertion is printed as received.
 */
export const tokenCommand: Command = {
  name: 'token',
  usage: 'sts token --sts URL --applies-to URI --user NAME [--version 1.3|2005] [--token-type saml2|saml11] [--ca PEM_FILE] < password',
  summary: 'Requests a token from a running STS over WS-Trust (the password is read from standard input) and prints it.',
  flags: [
    { name: 'sts', kind: 'string', help: 'base URL of the STS, e.g. https://localhost:9443' },
    { name: 'applies-to', kind: 'string', help: 'the relying party (wsp:AppliesTo)' },
    { name: 'user', kind: 'string', help: 'user name for the UsernameToken' },
    { name: 'version', kind: 'string', help: 'WS-Trust version: 1.3 (default) or 2005' },
    { name: 'token-type', kind: 'string', help: 'saml2 (default) or saml11' },
    { name: 'ca', kind: 'string', help: 'PEM certificate(s) to trust for the STS\'s TLS certificate (default: the system store)' },
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
    const password = (await io.readStdin()).split(/\r?\n/, 1)[0] ?? '';
    if (password === '') throw new UsageError('no password on standard input');
    const caFile = args.strings.get('ca');
    const agent = new Agent({ ...(caFile ? { ca: readFileSync(caFile, 'utf8') } : {}), keepAlive: false });
    try {
      const client = await soap.createClientAsync(`${base.replace(/\/$/, '')}/adfs/services/trust/mex`, {
        wsdl_options: { httpsAgent: agent },
        forceSoap12Headers: true,
      });
      client.setSecurity(new soap.WSSecurity(user, password, { passwordType: args.booleans.has('digest') ? 'PasswordDigest' : 'PasswordText' }));
      const uris = version === '1.3' ? TRUST13 : TRUST2005;
      const operation = version === '1.3' ? 'Trust13IssueAsyncAsync' : 'TrustFeb2005IssueAsyncAsync';
      const call = client[operation] as (a: object, o: object) => Promise<[unknown, string]>;
      const [, raw] = await call(
        {
          RequestType: uris.requestTypeIssue,
          TokenType: tokenType,
          KeyType: uris.keyTypeBearer,
          AppliesTo: { EndpointReference: { Address: appliesTo } },
        },
        { httpsAgent: agent },
      );
      io.out(`${extractToken(raw)}\n`);
      return 0;
    } catch (err) {
      // soap rejects with the fault's body: show the fault's reason, not a stack.
      const body = (err as { body?: unknown }).body;
      const reason = typeof body === 'string' ? /<(?:s:Text|faultstring)[^>]*>([^<]*)</.exec(body)?.[1] : undefined;
      io.err(`sts token: ${reason ?? (err instanceof Error ? err.message : String(err))}\n`);
      return 1;
    } finally {
      agent.destroy();
    }
  },
};

/** The token exactly as the STS sent it (the soap package's parsed object would lose the signed bytes). */
function extractToken(raw: string): string {
  const start = raw.indexOf('RequestedSecurityToken>');
  const end = raw.indexOf('RequestedSecurityToken>', start + 1);
  if (start === -1 || end === -1) throw new Error('the response holds no RequestedSecurityToken');
  const inner = raw.slice(start + 'RequestedSecurityToken>'.length, raw.lastIndexOf('<', end));
  return inner;
}
