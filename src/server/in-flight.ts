import type { IncomingMessage, Server, ServerResponse } from 'node:http';

/**
 * The requests a server is answering, and its drain for a graceful shutdown: once stopping, every
 * answer closes its connection (as Go's Server.Shutdown does) and each connection is closed as soon
 * as it falls idle, so keep-alive clients move to another process instead of waiting on this one.
 */
export class InFlightRequests {
  private readonly open = new Set<ServerResponse>();
  private stopping = false;
  private whenIdle: (() => void) | undefined;

  /** Must be attached before the app's request listener, so it sees each request first. */
  constructor(private readonly server: Server) {
    server.on('request', (_req: IncomingMessage, res: ServerResponse) => {
      this.open.add(res);
      if (this.stopping) res.shouldKeepAlive = false;
      res.once('close', () => this.finished(res));
    });
  }

  get count(): number {
    return this.open.size;
  }

  /** From now on connections close after their answer, and idle ones at once. */
  closeConnectionsWhenDone(): void {
    this.stopping = true;
    for (const res of this.open) if (!res.headersSent) res.shouldKeepAlive = false;
    this.server.closeIdleConnections();
  }

  /** Resolves once no request is in flight (closing connections as they finish). */
  drain(): Promise<void> {
    this.closeConnectionsWhenDone();
    if (this.open.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.whenIdle = resolve;
    });
  }

  private finished(res: ServerResponse): void {
    this.open.delete(res);
    if (!this.stopping) return;
    this.server.closeIdleConnections();
    if (this.open.size === 0) this.whenIdle?.();
  }
}
