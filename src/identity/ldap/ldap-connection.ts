import { isIP, connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, createSecureContext, type ConnectionOptions, type SecureContext } from 'node:tls';
import { Client, ResultCodeError, type Entry, type SearchOptions } from 'ldapts';
import { DirectoryUnavailableError } from '../../core/errors';
import type { LdapConnectionSettings } from './ldap-settings';

/**
 * One connection to the directory, opened for one authentication and closed after it. We open
 * the socket ourselves (ldapts only speaks LDAP over it) so that every step has a bound: opening
 * (TCP, TLS handshake, StartTLS) must finish within connectTimeoutMs, and every operation after it
 * within operationTimeoutMs in total; when a bound passes, the sockets are destroyed and the
 * caller gets a DirectoryUnavailableError, never a hang. LDAP result codes (a refused bind, a
 * missing base) are passed on as ldapts's ResultCodeError for the caller to judge.
 */
export class LdapConnection {
  private readonly operationsEnd: number;
  private broken = false;

  private constructor(
    private readonly client: Client,
    private readonly sockets: Socket[],
    private readonly settings: LdapConnectionSettings,
  ) {
    this.operationsEnd = Date.now() + settings.operationTimeoutMs;
  }

  static async open(settings: LdapConnectionSettings): Promise<LdapConnection> {
    const url = new URL(settings.url);
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const secure = url.protocol === 'ldaps:';
    const port = url.port ? Number(url.port) : secure ? 636 : 389;
    // Verification is never switched off: the CAs given, else Node's roots, and the host name checked.
    const tls: ConnectionOptions = {
      host,
      ...(isIP(host) ? {} : { servername: host }),
      secureContext: secureContextFor(settings),
      rejectUnauthorized: true,
    };
    const sockets: Socket[] = [];
    const opening = async (): Promise<LdapConnection> => {
      const socket = await connected(secure ? tlsConnect({ ...tls, port }) : netConnect({ host, port }), secure, sockets);
      const client = new Client({
        url: settings.url,
        createConnection: (() => socket) as unknown as typeof netConnect,
        // ldaps://: the socket above, already through its handshake; ldap://: StartTLS's upgrade of it.
        createSecureConnection: (secure
          ? () => socket
          : (upgrade: ConnectionOptions) => track(sockets, tlsConnect({ ...upgrade, ...tls }))) as unknown as typeof tlsConnect,
      });
      if (settings.startTls) await client.startTLS({ ...tls });
      return new LdapConnection(client, sockets, settings);
    };
    return within(opening(), settings.connectTimeoutMs, () => {
      destroyAll(sockets);
      return unavailable(settings, `no connection within ${settings.connectTimeoutMs} ms (connectTimeoutMs)`);
    }).catch((err: unknown) => {
      destroyAll(sockets);
      if (err instanceof DirectoryUnavailableError) throw err;
      throw unavailable(settings, `${settings.startTls ? 'connect or StartTLS' : 'connect'} failed: ${messageOf(err)}`);
    });
  }

  bind(dn: string, password: string): Promise<void> {
    return this.operation(() => this.client.bind(dn, password), 'bind');
  }

  async search(base: string, options: SearchOptions): Promise<Entry[]> {
    // The server's own limit too, so it stops working on a search we have given up on.
    const timeLimit = Math.max(1, Math.ceil(this.settings.operationTimeoutMs / 1000));
    const result = await this.operation(() => this.client.search(base, { timeLimit, ...options }), 'search');
    return result.searchEntries;
  }

  /** Unbinds politely and lets go of the sockets; never waits and never throws. */
  close(): void {
    if (this.broken) return;
    this.broken = true;
    this.client
      .unbind()
      .catch(() => undefined)
      .finally(() => destroyAll(this.sockets));
  }

  private operation<T>(start: () => Promise<T>, what: string): Promise<T> {
    const expired = (): DirectoryUnavailableError => {
      this.broken = true;
      destroyAll(this.sockets);
      return unavailable(this.settings, `no answer within ${this.settings.operationTimeoutMs} ms (operationTimeoutMs) to a ${what}`);
    };
    const budget = this.operationsEnd - Date.now();
    if (this.broken || budget <= 0) return Promise.reject(expired());
    return within(start(), budget, expired).catch((err: unknown) => {
      if (err instanceof DirectoryUnavailableError || err instanceof ResultCodeError) throw err;
      this.broken = true;
      destroyAll(this.sockets);
      throw unavailable(this.settings, `the connection failed during a ${what}: ${messageOf(err)}`);
    });
  }
}

export function unavailable(settings: LdapConnectionSettings, why: string): DirectoryUnavailableError {
  return new DirectoryUnavailableError(`LDAP directory ${settings.url} is unavailable: ${why}`);
}

function connected(socket: Socket, secure: boolean, sockets: Socket[]): Promise<Socket> {
  track(sockets, socket);
  return new Promise((resolve, reject) => {
    const closed = (): void => reject(new Error('the connection closed'));
    socket.once('error', reject);
    socket.once('close', closed);
    socket.once(secure ? 'secureConnect' : 'connect', () => {
      socket.removeListener('error', reject);
      socket.removeListener('close', closed);
      resolve(socket);
    });
  });
}

// A socket always has an error listener (ldapts adds its own once it takes the socket over), so a
// late error never becomes an uncaught exception; failures reach the caller through close or a bound.
function track(sockets: Socket[], socket: Socket): Socket {
  socket.on('error', () => undefined);
  sockets.push(socket);
  return socket;
}

function destroyAll(sockets: readonly Socket[]): void {
  for (const socket of sockets) socket.destroy();
}

function within<T>(work: Promise<T>, ms: number, expired: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(expired()), ms);
  });
  return Promise.race([work, bound]).finally(() => clearTimeout(timer));
}

function messageOf(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  // ldapts puts a second line with the socket's own error under its summary; one line is enough.
  const code = (err as { code?: unknown }).code;
  const first = err.message.split('\n')[0] ?? '';
  return typeof code === 'string' && !first.includes(code) ? `${first} (${code})` : first;
}

// Built once per settings, not per connection: every login opens a connection, and a context parses
// its CA certificates when it is made.
const secureContexts = new WeakMap<LdapConnectionSettings, SecureContext>();
function secureContextFor(settings: LdapConnectionSettings): SecureContext {
  let context = secureContexts.get(settings);
  if (!context) {
    context = createSecureContext({ ...(settings.caCertificates.length > 0 ? { ca: [...settings.caCertificates] } : {}), minVersion: 'TLSv1.2' });
    secureContexts.set(settings, context);
  }
  return context;
}
