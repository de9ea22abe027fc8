import { request, type Agent } from 'node:https';
import { recordResponse } from './observed-traffic';

export interface HttpResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
  readonly elapsedMs: number;
  /** The X-Request-Id the server answered with ('' when none). */
  readonly requestId: string;
  /** The connection's local port, which tells kept-alive connections apart. */
  readonly socketPort: number;
}

export interface HttpsRequestOptions {
  /** The only certificate trusted: the test server's self-signed TLS certificate. */
  readonly ca: string;
  /** Default: GET, or POST when there is a body. */
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string | Buffer;
  /** Fail when the connection stays silent this long (default 15 s). */
  readonly timeoutMs?: number;
  /** Send on this agent's connections (kept alive) instead of a fresh one. */
  readonly agent?: Agent;
}

/**
 * One HTTPS request to a test server, on a fresh connection unless an agent is given (no keep-alive:
 * each may land on another worker), checking its certificate for localhost. Rejects with the socket's error (ECONNREFUSED,
 * ECONNRESET, …) when there is no answer. Every response body is recorded for the leak scan.
 */
export function httpsRequest(url: string, options: HttpsRequestOptions): Promise<HttpResponse> {
  const started = process.hrtime.bigint();
  const timeoutMs = options.timeoutMs ?? 15_000;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: options.method ?? (options.body === undefined ? 'GET' : 'POST'),
        headers: options.headers,
        ca: options.ca,
        servername: 'localhost',
        agent: options.agent ?? false,
        timeout: timeoutMs,
      },
      (res) => {
        // Read now: a kept-alive socket is back in its agent's pool (res.socket null) by 'end'.
        const socketPort = res.socket.localPort ?? -1;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          recordResponse(body);
          const rid = res.headers['x-request-id'];
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            elapsedMs: Number(process.hrtime.bigint() - started) / 1e6,
            requestId: typeof rid === 'string' ? rid : '',
            socketPort,
          });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(options.body);
  });
}
