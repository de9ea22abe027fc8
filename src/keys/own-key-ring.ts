import type { SigningKeyRepository } from '../store/store';
import type { TrustedKey } from '../xml/verify-signature';
import { trustedKeyFromCertificate } from './trusted-key';

/** Our own signing keys, as the verifier needs them; re-read from the store now and then, so a rotation on any node is seen. */
export class OwnKeyRing {
  private cached: { keys: TrustedKey[]; until: number } | undefined;

  constructor(
    private readonly repository: SigningKeyRepository,
    private readonly refreshMs = 30_000,
  ) {}

  /** Keys whose signatures still count: every state but revoked. */
  async trusted(): Promise<TrustedKey[]> {
    if (!this.cached || this.cached.until < Date.now()) {
      const records = await this.repository.list();
      const keys = records.filter((r) => r.state !== 'revoked').map((r) => trustedKeyFromCertificate(r.certificatePem));
      this.cached = { keys, until: Date.now() + this.refreshMs };
    }
    return this.cached.keys;
  }
}
