import type { OwnKeyRing, WithheldKey } from '../keys/own-key-ring';
import { trustedKeyFromCertificate } from '../keys/trusted-key';
import type { SamlProviderRecord, SamlReplayMode, Store } from '../store/store';
import type { TrustedKey } from '../xml/verify-signature';
import { samlProviderArn } from './arn';

/** A SAML identity provider as AssumeRoleWithSAML sees it: whose signatures count, and its replay rule. */
export interface SamlProvider {
  readonly name: string;
  readonly arn: string;
  /** The Issuer its assertions must carry. */
  readonly entityId: string;
  readonly trustedKeys: readonly TrustedKey[];
  /** Trustbridge's own keys that do not sign now, to tell a forgery with one of them; empty for others. */
  readonly withheldKeys: readonly WithheldKey[];
  readonly replay: SamlReplayMode;
  /** Trustbridge itself: its assertions must also match the issuance ledger. */
  readonly isSelf: boolean;
}

export interface SamlProviderDirectoryOptions {
  readonly store: Store;
  readonly accountId: string;
  /** Trustbridge's own registration: its name, Issuer and replay rule; its keys are the signing keys. */
  readonly self: { readonly name: string; readonly entityId: string; readonly replay: SamlReplayMode };
  readonly ownKeys: OwnKeyRing;
}

// Registered providers change rarely (`sts aws provider add`); a short cache spares a read and a
// certificate parse per request while a change on any node still applies within seconds.
const CACHE_MS = 5000;

export class SamlProviderDirectory {
  private readonly cache = new Map<string, { provider: SamlProvider; until: number }>();

  constructor(private readonly options: SamlProviderDirectoryOptions) {}

  /**
   * Trustbridge's own provider with its keys re-read from the store, after a signature by a key the
   * cached list lacks; undefined when they were not re-read (see OwnKeyRing.refreshAfterMiss).
   */
  async selfAfterMiss(keyInfoThumbprint?: string): Promise<SamlProvider | undefined> {
    if (!(await this.options.ownKeys.refreshAfterMiss(keyInfoThumbprint))) return undefined;
    return this.byName(this.options.self.name);
  }

  async byName(name: string): Promise<SamlProvider | undefined> {
    const { self, accountId, ownKeys } = this.options;
    if (name === self.name) {
      return {
        ...self,
        arn: samlProviderArn(accountId, name),
        trustedKeys: await ownKeys.trusted(),
        withheldKeys: await ownKeys.withheld(),
        isSelf: true,
      };
    }
    const cached = this.cache.get(name);
    if (cached && cached.until > Date.now()) return cached.provider;
    const record = await this.options.store.samlProviders.get(name);
    if (!record) return undefined;
    const provider = fromRecord(record, accountId);
    this.cache.set(name, { provider, until: Date.now() + CACHE_MS });
    return provider;
  }
}

function fromRecord(record: SamlProviderRecord, accountId: string): SamlProvider {
  return {
    name: record.name,
    arn: samlProviderArn(accountId, record.name),
    entityId: record.entityId,
    trustedKeys: record.certificatesPem.map(trustedKeyFromCertificate),
    withheldKeys: [],
    replay: record.replay,
    isSelf: false,
  };
}
