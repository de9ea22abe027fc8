// The advisory locks the PostgreSQL store takes, as (space, id) pairs: the space is 'TBRG' in ASCII,
// so Trustbridge's locks do not collide with another application's in the same database.
export const ADVISORY_LOCK_SPACE = 0x54425247;

/** Held while the schema is migrated at start-up. */
export const MIGRATIONS_LOCK = 1;
/** Held by the transaction appending to the issuance ledger, from reading the chain's head to commit. */
export const LEDGER_APPEND_LOCK = 2;
