import type { Agent } from 'node:https';
import { TRUST13, TRUST2005 } from '../../xml/namespaces';

export interface WsTrustTokenRequest {
  /** Base URL of the STS, e.g. https://localhost:9443. */
  readonly sts: string;
  readonly appliesTo: string;
  readonly user: string;
  readonly password: string;
  readonly version: '1.3' | '2005';
  readonly tokenTypeUri: string;
  readonly passwordDigest: boolean;
  readonly agent: Agent;
}

/**
 * Asks an STS for a token the way a WSDL-driven client does: the `soap` package loads the mex WSDL
 * and calls Issue with a WS-Security UsernameToken. Resolves to the token exactly as sent (the soap
 * package's parsed object would lose the signed bytes); rejects with the fault's reason.
 */
export async function requestTokenOverWsTrust(request: WsTrustTokenRequest): Promise<string> {
  const { agent } = request;
  try {
    // Loaded here, not at the top: the CLI's import graph is also `sts serve`'s, and the soap client
    // with its HTTP stack would cost every serving process some 6 MB of heap it never uses.
    const soap = await import('soap');
    const client = await soap.createClientAsync(`${request.sts.replace(/\/$/, '')}/adfs/services/trust/mex`, {
      wsdl_options: { httpsAgent: agent },
      forceSoap12Headers: true,
    });
    client.setSecurity(
      new soap.WSSecurity(request.user, request.password, { passwordType: request.passwordDigest ? 'PasswordDigest' : 'PasswordText' }),
    );
    const uris = request.version === '1.3' ? TRUST13 : TRUST2005;
    const operation = request.version === '1.3' ? 'Trust13IssueAsyncAsync' : 'TrustFeb2005IssueAsyncAsync';
    const call = client[operation] as (a: object, o: object) => Promise<[unknown, string]>;
    const [, raw] = await call(
      {
        RequestType: uris.requestTypeIssue,
        TokenType: request.tokenTypeUri,
        KeyType: uris.keyTypeBearer,
        AppliesTo: { EndpointReference: { Address: request.appliesTo } },
      },
      { httpsAgent: agent },
    );
    return extractToken(raw);
  } catch (err) {
    // soap rejects with the fault's body: report the fault's reason, not a stack.
    const body = (err as { body?: unknown }).body;
    const reason = typeof body === 'string' ? /<(?:s:Text|faultstring)[^>]*>([^<]*)</.exec(body)?.[1] : undefined;
    throw new Error(reason ?? (err instanceof Error ? err.message : String(err)));
  }
}

function extractToken(raw: string): string {
  const start = raw.indexOf('RequestedSecurityToken>');
  const end = raw.indexOf('RequestedSecurityToken>', start + 1);
  if (start === -1 || end === -1) throw new Error('the response holds no RequestedSecurityToken');
  return raw.slice(start + 'RequestedSecurityToken>'.length, raw.lastIndexOf('<', end));
}
