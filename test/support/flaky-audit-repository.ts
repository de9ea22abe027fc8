import type { AuditEvent, AuditRepository } from '../../src/store/store';

/** The error a flaky repository refuses with. */
export const FLAKY_STORE_ERROR = 'database unavailable';

/** A repository that refuses the first `failures` appends (a store that is down), then keeps what it is given. */
export function flakyRepository(failures: number): AuditRepository & { stored: AuditEvent[]; calls: number } {
  const repo = {
    stored: [] as AuditEvent[],
    calls: 0,
    append: async (events: readonly AuditEvent[]) => {
      repo.calls += 1;
      if (repo.calls <= failures) throw new Error(FLAKY_STORE_ERROR);
      repo.stored.push(...events);
    },
    query: async () => [],
  };
  return repo;
}
