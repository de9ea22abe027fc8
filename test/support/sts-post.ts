import { request } from 'node:https';
import { recordResponse } from './observed-traffic';

export interface PostResult {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
  readonly elapsedMs: number;
  readonly requestId: string;
}

export interface PostOptions {
  readonly ca: string;
  readonly headers: Record<string, string>;
  readonly body: string | Buffer;
  /** Send the body in chunks without Content-Length (Transfer-Encoding: chunked). */
  readonly chunked?: boolean;
  /** Give up (fail) after this many milliseconds. */
  readonly timeoutMs?: number;
}

/**
 * POSTs to the test server on a fresh connection and resolves with the response even when the
 * server answers before it has read the whole body (the write side may then see EPIPE/ECONNRESET).
 * Every response body is recorded for the leak scan.
 */
export function postToSts(url: string, options: PostOptions): Promise<PostResult> {
  const started = process.hrtime.bigint();
  const headers: Record<string, string> = { ...options.headers };
  const body = typeof options.body === 'string' ? Buffer.from(options.body, 'utf8') : options.body;
  if (!options.chunked && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-length')) {
    headers['Content-Length'] = String(body.length);
  }
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (err: Error | undefined, value?: PostResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(value as PostResult);
    };
    const req = request(
      url,
      { method: 'POST', headers, ca: options.ca, servername: 'localhost', agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          recordResponse(text);
          const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
          const rid = res.headers['x-request-id'];
          finish(undefined, {
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: text,
            elapsedMs,
            requestId: typeof rid === 'string' ? rid : '',
          });
        });
        res.on('error', (e) => finish(e));
      },
    );
    const timer = setTimeout(() => {
      req.destroy();
      finish(new Error(`no response within ${options.timeoutMs ?? 10_000} ms`));
    }, options.timeoutMs ?? 10_000);
    // Errors after the response started (the server stopped reading an oversized body) do not matter.
    req.on('error', (e) => setTimeout(() => finish(e), 50));
    if (options.chunked) {
      const size = 16 * 1024;
      let offset = 0;
      const writeMore = (): void => {
        while (offset < body.length && !req.destroyed) {
          const chunk = body.subarray(offset, offset + size);
          offset += size;
          if (!req.write(chunk)) {
            req.once('drain', writeMore);
            return;
          }
        }
        if (!req.destroyed) req.end();
      };
      writeMore();
    } else {
      req.end(body);
    }
  });
}
