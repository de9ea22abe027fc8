import { AlreadyExistsError } from '../store';

// SQLSTATE codes the store turns into its own errors.
const UNIQUE_VIOLATION = '23505';
const FOREIGN_KEY_VIOLATION = '23503';

interface PgError {
  readonly code?: string;
  /** The constraint or index a violation names. */
  readonly constraint?: string;
}

export const isUniqueViolation = (err: unknown, constraint?: string): boolean => {
  const e = err as PgError;
  return e.code === UNIQUE_VIOLATION && (constraint === undefined || e.constraint === constraint);
};

/** A row that names a parent row the database no longer has (removed by another session meanwhile). */
export const isForeignKeyViolation = (err: unknown): boolean => (err as PgError).code === FOREIGN_KEY_VIOLATION;

/** A duplicate key becomes AlreadyExistsError naming `what`; anything else passes through. */
function explainPgError(what: string, err: unknown): unknown {
  return isUniqueViolation(err) ? new AlreadyExistsError(what) : err;
}

/** Runs an insert, reporting a duplicate key as AlreadyExistsError. */
export async function insertOrExplain(what: string, run: () => Promise<unknown>): Promise<void> {
  try {
    await run();
  } catch (err) {
    throw explainPgError(what, err);
  }
}
