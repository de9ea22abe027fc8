import type { InitRecords } from './store';

/** Where each kind of InitRecords lives: the same table and key column in SQLite and in PostgreSQL. */
export const INIT_RECORD_TABLES: ReadonlyArray<{ readonly kind: keyof InitRecords; readonly table: string; readonly key: string }> = [
  { kind: 'users', table: 'users', key: 'name' },
  { kind: 'relyingParties', table: 'relying_parties', key: 'applies_to' },
  { kind: 'awsRoles', table: 'aws_roles', key: 'name' },
  { kind: 'signingKeys', table: 'signing_keys', key: 'thumbprint' },
];
