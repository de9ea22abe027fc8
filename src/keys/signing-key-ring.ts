import type { SigningKeyRecord, SigningKeyRepository } from '../store/store';
import type { SigningKeyCustody } from './key-custody';
import { certificateNotAfter } from './key-material';
import { activeKey, PUBLISHED_STATES } from './key-lifecycle';
import type { SigningKey } from './signing-key';

/** A certificate the metadata publishes. */
export interface PublishedCertificate {
  readonly thumbprint: string;
  readonly certificateBase64: string;
  readonly state: SigningKeyRecord['state'];
}

export interface SigningKeyRingOptions {
  /** How often the store is re-read; a promotion anywhere is used here within this time. */
  readonly refreshMs?: number;
  readonly now?: () => Date;
  /** Told when a refresh fails (the previous key keeps signing) or the active key changes. */
  readonly onEvent?: (event: { kind: 'changed'; from: string; to: string } | { kind: 'refresh-failed'; error: unknown }) => void;
}

export const DEFAULT_KEY_REFRESH_MS = 5000;

/**
 * The key that signs now, for a process that serves: opened once (unsealed, or found in the token),
 * then re-read from the store in the background so a promotion by any node or by the CLI is picked up
 * within seconds without a restart. current() never waits; a key is opened again only when the active
 * thumbprint changes.
 */
export class SigningKeyRing {
  private active: SigningKey;
  private published: readonly PublishedCertificate[];
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<boolean> | undefined;

  private constructor(
    private readonly repository: SigningKeyRepository,
    private readonly custody: SigningKeyCustody,
    private readonly options: SigningKeyRingOptions,
    records: readonly SigningKeyRecord[],
    active: SigningKey,
  ) {
    this.active = active;
    this.published = publishedFrom(records, this.now());
  }

  /** Loads the active key; throws when there is not exactly one. */
  static async open(repository: SigningKeyRepository, custody: SigningKeyCustody, options: SigningKeyRingOptions = {}): Promise<SigningKeyRing> {
    const records = await repository.list();
    const active = activeKey(records);
    if (!active) {
      const n = records.filter((r) => r.state === 'active').length;
      throw new Error(`exactly one active token-signing key is required, found ${n}: run "sts keys list" and "sts keys promote"`);
    }
    return new SigningKeyRing(repository, custody, options, records, custody.open(active));
  }

  /** The key that signs now. */
  current(): SigningKey {
    return this.active;
  }

  /** The certificates relying parties should trust (pending, active, retiring; unexpired), active first. */
  publishedCertificates(): readonly PublishedCertificate[] {
    return this.published;
  }

  /** Re-reads the store now; resolves true when the active key changed. Concurrent calls share one read. */
  refresh(): Promise<boolean> {
    this.refreshing ??= this.readStore().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  /** Starts the background refresh (unref'd: it never keeps the process alive). */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.refresh().catch((error: unknown) => this.options.onEvent?.({ kind: 'refresh-failed', error }));
    }, this.options.refreshMs ?? DEFAULT_KEY_REFRESH_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async readStore(): Promise<boolean> {
    const records = await this.repository.list();
    this.published = publishedFrom(records, this.now());
    const record = activeKey(records);
    // No single active key (cannot happen through the repository): keep signing with the last one.
    if (!record || record.thumbprint === this.active.thumbprintSha256) return false;
    const from = this.active.thumbprintSha256;
    this.active = this.custody.open(record);
    this.options.onEvent?.({ kind: 'changed', from, to: record.thumbprint });
    return true;
  }

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }
}

function publishedFrom(records: readonly SigningKeyRecord[], now: Date): PublishedCertificate[] {
  const rank = (r: SigningKeyRecord): number => (r.state === 'active' ? 0 : r.state === 'pending' ? 1 : 2);
  return records
    .filter((r) => PUBLISHED_STATES.includes(r.state) && certificateNotAfter(r).getTime() > now.getTime())
    .sort((a, b) => rank(a) - rank(b))
    .map((r) => ({
      thumbprint: r.thumbprint,
      state: r.state,
      certificateBase64: r.certificatePem
        .replace(/-----(BEGIN|END) CERTIFICATE-----/g, '')
        .replace(/\s+/g, ''),
    }));
}
