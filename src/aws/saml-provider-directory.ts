import type { OwnKeyRing } from '../keys/own-key-ring';
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
  /**
   * What a signature is verified against: our own keys that sign now, or every certificate
   * registered for an external provider (the lifecycle of the one that verified is checked after).
   */
  readonly trustedKeys: readonly TrustedKey[];
  /** Trustbridge's own keys that do not sign now, to tell a forgery with one of them; empty for others. */
  readonly withheldKeys: readonly TrustedKey[];
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
// certificate parse per request while a change on any node still applies within seconds. A
// certificate's state is not taken from here: it is read at check time.
const CACHE_MS = 5000;

export class SamlProviderDirectory {
  private readonly cache = new Map<string, { provider: SamlProvider; until: number }>();

  constructor(private readonly options: SamlProviderDirectoryOptions) {}

  /**
   * The provider with its keys re-read from the store, after a signature by a key the cached list
   * lacks; undefined when they were not re-read. Our own keys: see OwnKeyRing.refreshAfterMiss. An
   * external provider's: re-read when KeyInfo named a certificate the cached list lacks and the store
   * now holds for it (one indexed read decides), so a certificate added on any node counts at once,
   * while a stranger's signatures cost no more than that read.
   */
  async afterMiss(provider: SamlProvider, keyInfoThumbprint: string | undefined): Promise<SamlProvider | undefined> {
    if (provider.isSelf) {
      if (!(await this.options.ownKeys.refreshAfterMiss(keyInfoThumbprint))) return undefined;
      return this.byName(provider.name);
    }
    // Only a certificate the cached list lacks is worth a read: one it has already failed on its own.
    if (keyInfoThumbprint === undefined || provider.trustedKeys.some((k) => k.thumbprintSha256 === keyInfoThumbprint)) return undefined;
    if (!(await this.options.store.samlProviders.getCertificate(provider.name, keyInfoThumbprint))) return undefined;
    this.cache.delete(provider.name);
    return this.byName(provider.name);
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
    // Every certificate, whatever its state: KeyInfo only selects among them, and the state of the
    // one that verified is then read afresh (requireProviderCertificatesAccepted).
    trustedKeys: record.certificates.map((c) => trustedKeyFromCertificate(c.certificatePem)),
    withheldKeys: [],
    replay: record.replay,
    isSelf: false,
  };
}
