import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { ServingInstance } from '../instance/open-instance';
import { createApp } from './app';
import type { Logger } from './log';

export interface RunningServer {
  readonly server: Server;
  readonly port: number;
  readonly baseUrl: string;
  close(): Promise<void>;
}

export interface ListenOptions {
  readonly port?: number;
  readonly host?: string;
}

/** Starts the HTTPS listener for one process. */
export async function listen(instance: ServingInstance, logger: Logger, options: ListenOptions = {}): Promise<RunningServer> {
  let baseUrl = instance.config.publicBaseUrl;
  const app = createApp({ instance, logger, baseUrl: () => baseUrl });
  const { key, cert, passphrase } = instance.tls;
  const server = createServer({ key, cert, ...(passphrase === undefined ? {} : { passphrase }) }, app.callback());
  // Longer than typical client and load-balancer idle timeouts, so they close first, not us.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 30_000;
  const host = options.host ?? instance.config.listen.host;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? instance.config.listen.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  if (baseUrl === '') baseUrl = `https://localhost:${port}`;
  return {
    server,
    port,
    baseUrl,
    close: () =>
      new Promise<void>((resolve) => {
        // Stop accepting, let in-flight requests finish, drop idle keep-alive connections.
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
