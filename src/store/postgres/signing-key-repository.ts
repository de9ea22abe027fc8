import type { Pool, PoolClient } from 'pg';
import { SecondActiveKeyError, type PromoteResult, type SigningKeyRecord, type SigningKeyRepository, type SigningKeyState } from '../store';
import { insertOrExplain, isUniqueViolation } from './pg-errors';
import { inTransaction } from './transaction';

interface SigningKeyRow {
  thumbprint: string;
  state: SigningKeyState;
  certificate_pem: string;
  sealed_private_key: string;
  created_at: Date;
  not_after: Date | null;
  activated_at: Date | null;
  retiring_at: Date | null;
  retired_at: Date | null;
  revoked_at: Date | null;
}

/** The column each state stamps when a key enters it. */
const STAMP: Record<SigningKeyState, string | null> = {
  pending: null,
  active: 'activated_at',
  retiring: 'retiring_at',
  retired: 'retired_at',
  revoked: 'revoked_at',
};

const ONE_ACTIVE_INDEX = 'signing_keys_one_active';

type Queryable = Pick<PoolClient, 'query'>;

/**
 * Token-signing keys and their lifecycle. State moves are single conditional UPDATEs; a promotion
 * (two moves that must be seen together) locks the table against other writers for its few
 * statements, so two nodes promoting at once take turns, while readers go on reading the state
 * before or after it, never between.
 */
export function postgresSigningKeys(pool: Pool): SigningKeyRepository {
  const setState = async (db: Queryable, thumbprint: string, from: readonly SigningKeyState[], to: SigningKeyState, at: Date): Promise<boolean> => {
    if (!Object.hasOwn(STAMP, to)) throw new Error(`unknown signing key state ${JSON.stringify(to)}`);
    const stamp = STAMP[to];
    // The stamp column comes from the table above, never from the caller.
    const sql = stamp
      ? `UPDATE signing_keys SET state = $1, ${stamp} = $4 WHERE thumbprint = $2 AND state = ANY($3::text[])`
      : 'UPDATE signing_keys SET state = $1 WHERE thumbprint = $2 AND state = ANY($3::text[])';
    try {
      const result = await db.query(sql, stamp ? [to, thumbprint, from, at] : [to, thumbprint, from]);
      return result.rowCount === 1;
    } catch (err) {
      if (isUniqueViolation(err, ONE_ACTIVE_INDEX)) throw new SecondActiveKeyError();
      throw err;
    }
  };

  const promote = (thumbprint: string, at: Date, revokePrevious: boolean): Promise<PromoteResult> =>
    inTransaction(pool, async (client) => {
      // EXCLUSIVE: other writers wait, plain reads do not.
      await client.query('LOCK TABLE signing_keys IN EXCLUSIVE MODE');
      const target = await client.query<{ state: SigningKeyState }>('SELECT state FROM signing_keys WHERE thumbprint = $1', [thumbprint]);
      const state = target.rows[0]?.state ?? null;
      if (state !== 'pending') return { promoted: false, state };
      const active = await client.query<{ thumbprint: string }>(`SELECT thumbprint FROM signing_keys WHERE state = 'active'`);
      const previous = active.rows[0]?.thumbprint ?? null;
      if (previous !== null) await setState(client, previous, ['active'], revokePrevious ? 'revoked' : 'retiring', at);
      if (!(await setState(client, thumbprint, ['pending'], 'active', at))) throw new Error(`signing key ${thumbprint} changed during promotion`);
      return { promoted: true, previous };
    });

  return {
    add: (k) =>
      insertOrExplain(`signing key ${k.thumbprint}`, async () => {
        try {
          await pool.query(
            `INSERT INTO signing_keys (thumbprint, state, certificate_pem, sealed_private_key, created_at,
               not_after, activated_at, retiring_at, retired_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
            [
              k.thumbprint,
              k.state,
              k.certificatePem,
              k.sealedPrivateKey,
              k.createdAt,
              k.notAfter ?? null,
              k.activatedAt ?? null,
              k.retiringAt ?? null,
              k.retiredAt ?? null,
              k.revokedAt ?? null,
            ],
          );
        } catch (err) {
          if (isUniqueViolation(err, ONE_ACTIVE_INDEX)) throw new SecondActiveKeyError();
          throw err;
        }
      }),
    list: async () => {
      const { rows } = await pool.query<SigningKeyRow>('SELECT * FROM signing_keys ORDER BY created_at, thumbprint COLLATE "C"');
      return rows.map(toSigningKey);
    },
    get: async (thumbprint) => {
      const { rows } = await pool.query<SigningKeyRow>('SELECT * FROM signing_keys WHERE thumbprint = $1', [thumbprint]);
      return rows[0] && toSigningKey(rows[0]);
    },
    setState: (thumbprint, from, to, at) => setState(pool, thumbprint, from, to, at),
    promote: (thumbprint, at, options) => promote(thumbprint, at, options?.revokePrevious === true),
  };
}

// Absent, not null, when unknown: records compare equal to those the SQLite store returns.
function toSigningKey(r: SigningKeyRow): SigningKeyRecord {
  const optional: Record<string, Date> = {};
  const columns = { notAfter: r.not_after, activatedAt: r.activated_at, retiringAt: r.retiring_at, retiredAt: r.retired_at, revokedAt: r.revoked_at };
  for (const [name, value] of Object.entries(columns)) if (value !== null) optional[name] = value;
  return {
    thumbprint: r.thumbprint,
    state: r.state,
    certificatePem: r.certificate_pem,
    sealedPrivateKey: r.sealed_private_key,
    createdAt: r.created_at,
    ...optional,
  };
}
