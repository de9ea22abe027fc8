import type { StsConfig } from '../config/config';
import type { OwnKeyRing } from '../keys/own-key-ring';
import type { Store } from '../store/store';
import type { XmlLimits } from '../xml/safe-parse';
import { assumeRoleWithSaml } from './actions/assume-role-with-saml';
import { getCallerIdentity } from './actions/get-caller-identity';
import { deriveSessionTokenKey, SessionTokenSealer } from './credentials/session-token';
import { AwsQueryEndpoint } from './query/endpoint';
import { SamlProviderDirectory } from './saml-provider-directory';
import { sessionCredentialResolver } from './sigv4/session-credentials';
import { SigV4Verifier } from './sigv4/verify-sigv4';

export interface AwsApiOptions {
  readonly config: StsConfig;
  readonly store: Store;
  readonly masterKey: Buffer;
  readonly ownKeys: OwnKeyRing;
  readonly xmlLimits: XmlLimits;
  readonly now: () => Date;
}

/** The AWS-compatible Query API, assembled: actions, SigV4 over sealed session tokens, SAML providers. */
export function createAwsApi(options: AwsApiOptions): AwsQueryEndpoint {
  const { config, store, now } = options;
  const aws = config.aws;
  const sealer = new SessionTokenSealer({
    currentKeyId: aws.sessionTokenKeyId,
    keys: new Map(
      [aws.sessionTokenKeyId, ...aws.previousSessionTokenKeyIds].map((id) => [id, deriveSessionTokenKey(options.masterKey, id)]),
    ),
  });
  const providers = new SamlProviderDirectory({
    store,
    accountId: aws.accountId,
    self: { name: aws.providerName, entityId: config.issuer, replay: aws.replay },
    ownKeys: options.ownKeys,
  });
  const verifier = new SigV4Verifier({ resolveCredentials: sessionCredentialResolver(sealer) });
  const actions = [
    assumeRoleWithSaml({
      store,
      accountId: aws.accountId,
      providers,
      sealer,
      xmlLimits: options.xmlLimits,
      clockSkewMs: config.clockSkewSeconds * 1000,
      now,
    }),
    getCallerIdentity,
  ];
  return new AwsQueryEndpoint(actions, (request) =>
    verifier.verify({ method: request.method, path: request.path, query: request.rawQuery, headers: request.headers, body: request.body }, now())
      .credentials,
  );
}
