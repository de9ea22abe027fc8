import type { SigningKeyRecord, SigningKeyRepository } from '../store/store';
import type { TrustedKey } from '../xml/verify-signature';
import { keySignaturesCount } from './key-material';
import { trustedKeyFromCertificate } from './trusted-key';

export interface OwnKeyRingOptions {
  /** How long the key list is reused: an emergency revocation anywhere bites within this time. */
  readonly refreshMs?: number;
  /** The least time between two re-reads forced by a signature from a key we do not know. */
  readonly missRefreshMs?: number;
  readonly now?: () => Date;
}

/**
 * Our own signing keys, as the verifier needs them: active and retiring keys whose certificates have
 * not expired. Pending keys are refused (a key not yet promoted has signed nothing of ours), retired
 * and revoked ones too; they are kept apart as withheld keys, to recognise, and alert on, what they
 * signed. Re-read from the store every few seconds, so a rotation on any node is seen.
 */
export class OwnKeyRing {
  private cached: { keys: TrustedKey[]; withheld: TrustedKey[]; until: number } | undefined;
  private lastMissRefresh = 0;
  private readonly refreshMs: number;
  private readonly missRefreshMs: number;

  constructor(
    private readonly repository: SigningKeyRepository,
    options: OwnKeyRingOptions | number = {},
  ) {
    const o = typeof options === 'number' ? { refreshMs: options } : options;
    this.refreshMs = Math.min(o.refreshMs ?? 5000, 5000);
    this.missRefreshMs = o.missRefreshMs ?? 1000;
    this.now = o.now ?? (() => new Date());
  }

  private readonly now: () => Date;

  /** Keys whose signatures count now. */
  async trusted(): Promise<TrustedKey[]> {
    if (!this.cached || this.cached.until < Date.now()) await this.reload();
    return (this.cached as { keys: TrustedKey[] }).keys;
  }

  /**
   * Our keys whose signatures do not count now (pending, retired, revoked, or with an expired
   * certificate): a token that verifies only against one of these is refused and raises an alert.
   */
  async withheld(): Promise<TrustedKey[]> {
    if (!this.cached || this.cached.until < Date.now()) await this.reload();
    return (this.cached as { withheld: TrustedKey[] }).withheld;
  }

  /**
   * The key's record in the store now, uncached: the cached list may be up to refreshMs old, and an
   * emergency revocation on any node must make the key's tokens invalid at once, not in a few seconds.
   */
  async currentRecord(thumbprint: string): Promise<SigningKeyRecord | undefined> {
    return this.repository.get(thumbprint);
  }

  /**
   * Re-reads the store after a signature by a key not in the cached list (another node may have just
   * generated or promoted it); resolves false when it did not re-read. When KeyInfo named the
   * certificate and the store holds it, the list is re-read at once (one indexed read decides: a
   * key of ours is never missed for long); otherwise at most once per missRefreshMs, so a flood of
   * strangers' signatures does not become a flood of reads. A key the cached lists already hold is
   * not re-read for: a replayed token of a revoked key would otherwise cost a full re-read per request,
   * and what decides about such a key is its state in the store, read at check time anyway.
   */
  async refreshAfterMiss(keyInfoThumbprint?: string): Promise<boolean> {
    if (keyInfoThumbprint !== undefined && this.holds(keyInfoThumbprint)) return false;
    if (keyInfoThumbprint !== undefined && (await this.repository.get(keyInfoThumbprint)) !== undefined) {
      await this.reload();
      return true;
    }
    if (Date.now() - this.lastMissRefresh < this.missRefreshMs) return false;
    this.lastMissRefresh = Date.now();
    await this.reload();
    return true;
  }

  private holds(thumbprint: string): boolean {
    const cached = this.cached;
    if (cached === undefined || cached.until < Date.now()) return false;
    return cached.keys.some((k) => k.thumbprintSha256 === thumbprint) || cached.withheld.some((k) => k.thumbprintSha256 === thumbprint);
  }

  private async reload(): Promise<void> {
    const now = this.now();
    const records = await this.repository.list();
    const keys: TrustedKey[] = [];
    const withheld: TrustedKey[] = [];
    for (const r of records) {
      const key = trustedKeyFromCertificate(r.certificatePem);
      if (keySignaturesCount(r, now)) keys.push(key);
      else withheld.push(key);
    }
    this.cached = { keys, withheld, until: Date.now() + this.refreshMs };
  }
}
