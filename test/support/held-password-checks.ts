import { verifyPassword } from '../../src/identity/password-hash';

/**
 * A server's password check (its verifyPassword) that waits while hold() is in force, counting the
 * checks that started: a test keeps a request at its password check, holding its turn, for as long as it needs.
 */
export class HeldPasswordChecks {
  checks = 0;
  private held: Promise<void> | undefined;
  private releaseHeld: () => void = () => undefined;

  readonly verifyPassword = async (password: string, stored: string): Promise<boolean> => {
    this.checks++;
    await this.held;
    return verifyPassword(password, stored);
  };

  hold(): void {
    this.held = new Promise((resolve) => (this.releaseHeld = resolve));
  }

  release(): void {
    this.held = undefined;
    this.releaseHeld();
  }
}
