// Where the PostgreSQL store connects, read from a libpq-style URL:
// postgres://USER@HOST:PORT/DATABASE?sslmode=disable|require|verify-full&sslrootcert=/path/ca.pem
// The password never travels in the URL (URLs end up in config files, logs and error messages); it
// comes from STS_PG_PASSWORD or store.passwordFile.

export type PostgresSslMode = 'disable' | 'require' | 'verify-full';

export interface PostgresConnectionSettings {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly sslMode: PostgresSslMode;
  /** A CA certificate file the server's certificate must chain to (verify-full); null: the system's CAs. */
  readonly sslRootCertFile: string | null;
}

const SSL_MODES: readonly PostgresSslMode[] = ['disable', 'require', 'verify-full'];
const QUERY_PARAMETERS = new Set(['sslmode', 'sslrootcert']);

/** Parses a store URL; throws an Error whose message says what is wrong (and never repeats a password). */
export function parsePostgresUrl(text: string): PostgresConnectionSettings {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error('must be a URL like postgres://user@host:5432/database');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') throw new Error('must start with postgres:// or postgresql://');
  if (url.password !== '') {
    throw new Error('must not contain a password: set STS_PG_PASSWORD or store.passwordFile instead');
  }
  if (url.hostname === '') throw new Error('must name a host');
  if (url.username === '') throw new Error('must name a user (postgres://user@host/database)');
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (database === '' || database.includes('/')) throw new Error('must name one database (postgres://user@host/database)');
  for (const name of url.searchParams.keys()) {
    if (!QUERY_PARAMETERS.has(name)) throw new Error(`has an unknown parameter ${JSON.stringify(name)} (known: sslmode, sslrootcert)`);
  }
  const sslMode = url.searchParams.get('sslmode') ?? 'disable';
  if (!(SSL_MODES as readonly string[]).includes(sslMode)) throw new Error(`sslmode must be one of ${SSL_MODES.join(', ')}`);
  const sslRootCertFile = url.searchParams.get('sslrootcert');
  if (sslRootCertFile !== null && sslMode !== 'verify-full') throw new Error('sslrootcert needs sslmode=verify-full');
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port === '' ? 5432 : Number(url.port),
    database,
    user: decodeURIComponent(url.username),
    sslMode: sslMode as PostgresSslMode,
    sslRootCertFile,
  };
}

/** The URL again, for messages: it holds no password, so it may be shown. */
export const describePostgres = (s: PostgresConnectionSettings): string => `postgres://${s.user}@${s.host}:${s.port}/${s.database}`;
