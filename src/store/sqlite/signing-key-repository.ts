import type Database from 'better-sqlite3';
import { SecondActiveKeyError, type PromoteResult, type SigningKeyRecord, type SigningKeyRepository, type SigningKeyState } from '../store';

interface SigningKeyRow {
  thumbprint: string;
  state: SigningKeyState;
  certificate_pem: string;
  sealed_private_key: string;
  created_at: number;
  not_after: number | null;
  activated_at: number | null;
  retiring_at: number | null;
  retired_at: number | null;
  revoked_at: number | null;
}

type InsertOrExplain = (what: string, run: () => void) => void;

/** The column each state stamps when a key enters it. */
const STAMP: Record<SigningKeyState, string | null> = {
  pending: null,
  active: 'activated_at',
  retiring: 'retiring_at',
  retired: 'retired_at',
  revoked: 'revoked_at',
};
const STATES = Object.keys(STAMP) as SigningKeyState[];

/** Token-signing keys and their lifecycle. Transactions are IMMEDIATE: the write lock is taken first, so two processes never interleave. */
export function signingKeyRepository(db: Database.Database, insertOrExplain: InsertOrExplain): SigningKeyRepository {
  const st = {
    add: db.prepare(
      `INSERT INTO signing_keys (thumbprint, state, certificate_pem, sealed_private_key, created_at,
         not_after, activated_at, retiring_at, retired_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    list: db.prepare<[], SigningKeyRow>('SELECT * FROM signing_keys ORDER BY created_at, thumbprint'),
    get: db.prepare<[string], SigningKeyRow>('SELECT * FROM signing_keys WHERE thumbprint = ?'),
    active: db.prepare<[], SigningKeyRow>(`SELECT * FROM signing_keys WHERE state = 'active'`),
  };
  // One conditional UPDATE per (target state): the stamp column cannot be a parameter.
  const setStateStatements = new Map(
    STATES.map((to) => {
      const stamp = STAMP[to];
      const sql = `UPDATE signing_keys SET state = ?${stamp ? `, ${stamp} = ?` : ''}
         WHERE thumbprint = ? AND state IN (SELECT value FROM json_each(?))`;
      return [to, db.prepare(sql)] as const;
    }),
  );
  const setState = (thumbprint: string, from: readonly SigningKeyState[], to: SigningKeyState, at: Date): boolean => {
    const statement = setStateStatements.get(to);
    if (!statement) throw new Error(`unknown signing key state ${JSON.stringify(to)}`);
    const params: unknown[] = STAMP[to] ? [to, at.getTime()] : [to];
    try {
      return statement.run(...params, thumbprint, JSON.stringify(from)).changes === 1;
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw new SecondActiveKeyError();
      throw err;
    }
  };

  const promote = db.transaction((thumbprint: string, at: Date, revokePrevious: boolean): PromoteResult => {
    const target = st.get.get(thumbprint);
    if (!target || target.state !== 'pending') return { promoted: false, state: target?.state ?? null };
    const previous = st.active.get();
    if (previous) setState(previous.thumbprint, ['active'], revokePrevious ? 'revoked' : 'retiring', at);
    if (!setState(thumbprint, ['pending'], 'active', at)) throw new Error(`signing key ${thumbprint} changed during promotion`);
    return { promoted: true, previous: previous?.thumbprint ?? null };
  });

  return {
    add: async (k) =>
      insertOrExplain(`signing key ${k.thumbprint}`, () => {
        try {
          st.add.run(
            k.thumbprint,
            k.state,
            k.certificatePem,
            k.sealedPrivateKey,
            k.createdAt.getTime(),
            time(k.notAfter),
            time(k.activatedAt),
            time(k.retiringAt),
            time(k.retiredAt),
            time(k.revokedAt),
          );
        } catch (err) {
          if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw new SecondActiveKeyError();
          throw err;
        }
      }),
    list: async () => st.list.all().map(toSigningKey),
    get: async (thumbprint) => {
      const row = st.get.get(thumbprint);
      return row && toSigningKey(row);
    },
    setState: async (thumbprint, from, to, at) => db.transaction(() => setState(thumbprint, from, to, at)).immediate(),
    promote: async (thumbprint, at, options) => promote.immediate(thumbprint, at, options?.revokePrevious === true),
  };
}

const time = (d: Date | undefined): number | null => (d === undefined ? null : d.getTime());

// Absent, not null, when unknown: records stay comparable with those written before these columns.
function toSigningKey(r: SigningKeyRow): SigningKeyRecord {
  const optional: Record<string, Date> = {};
  const columns = { notAfter: r.not_after, activatedAt: r.activated_at, retiringAt: r.retiring_at, retiredAt: r.retired_at, revokedAt: r.revoked_at };
  for (const [name, value] of Object.entries(columns)) if (value !== null) optional[name] = new Date(value);
  return {
    thumbprint: r.thumbprint,
    state: r.state,
    certificatePem: r.certificate_pem,
    sealedPrivateKey: r.sealed_private_key,
    createdAt: new Date(r.created_at),
    ...optional,
  };
}
