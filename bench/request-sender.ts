import { Agent, request, type AgentOptions } from 'node:https';
import { SOAP12_CONTENT_TYPE } from './issue-request';

// How every load generator (closed loop, open loop, the one-off requests around them) sends a
// request: one prebuilt body POSTed over HTTPS to the bench's server, its reply checked for markers.

/** One request the bench replays: the same bytes every time. */
export interface BenchRequest {
  readonly path: string;
  /** Request headers besides content-length; by default a SOAP 1.2 content type. */
  readonly headers?: Readonly<Record<string, string>>;
  readonly body: Buffer;
  /** Byte strings every successful reply contains (all of them). */
  readonly markers: readonly Buffer[];
}

/** A request with its headers worked out once, so sending it builds nothing. */
export interface PreparedRequest extends BenchRequest {
  readonly headers: Readonly<Record<string, string>>;
}

/** Where requests go. */
export interface Target {
  readonly host: string;
  readonly port: number;
  /** The server's TLS certificate, trusted as the only CA. */
  readonly ca: string;
  readonly requestTimeoutMs: number;
}

/** The bench's own server, on loopback; a request it has not answered within 10 s counts as failed. */
export function loopbackTarget(port: number, ca: string): Target {
  return { host: '127.0.0.1', port, ca, requestTimeoutMs: 10_000 };
}

export function prepareRequest<R extends BenchRequest>(r: R): R & PreparedRequest {
  return { ...r, headers: { 'content-type': SOAP12_CONTENT_TYPE, ...r.headers, 'content-length': String(r.body.length) } };
}

/** An agent trusting only the server's certificate, which names localhost while we connect to its address. */
export function serverAgent(target: Pick<Target, 'ca'>, options: AgentOptions = {}): Agent {
  return new Agent({ ...options, ca: target.ca, servername: 'localhost' });
}

/**
 * Sends one request; calls back once with undefined and the body on success, or with a short
 * description of the failure (non-200, a marker missing, socket error, timeout). Never throws.
 */
export function sendRequest(agent: Agent, target: Target, r: PreparedRequest, done: (failure: string | undefined, body: Buffer) => void): void {
  post(agent, target, r, (reply) => {
    if (typeof reply === 'string') done(reply, EMPTY);
    else if (reply.status !== 200) done(`HTTP ${reply.status}${failureDetail(reply.body)}`, reply.body);
    else {
      const missing = r.markers.find((m) => !reply.body.includes(m));
      done(missing === undefined ? undefined : `HTTP 200 without "${missing.toString()}"${failureDetail(reply.body)}`, reply.body);
    }
  });
}

/**
 * One POST outside any load run (e.g. to get a token to present) on a connection of its own: status
 * and whole body, whatever they are. Rejects on a network error.
 */
export function postOnce(target: Target, r: Omit<BenchRequest, 'markers'>): Promise<{ status: number; body: string }> {
  const agent = serverAgent(target);
  return new Promise((resolve, reject) => {
    post(agent, target, prepareRequest({ ...r, markers: [] }), (reply) => {
      agent.destroy();
      if (typeof reply === 'string') reject(new Error(reply));
      else resolve({ status: reply.status, body: reply.body.toString('utf8') });
    });
  });
}

interface Reply {
  readonly status: number;
  readonly body: Buffer;
}

/** Calls back exactly once: with the reply, or with why there is none. */
function post(agent: Agent, target: Target, r: PreparedRequest, done: (reply: Reply | string) => void): void {
  let finished = false;
  const finish = (reply: Reply | string): void => {
    if (finished) return;
    finished = true;
    done(reply);
  };
  const req = request({ agent, host: target.host, port: target.port, path: r.path, method: 'POST', headers: r.headers }, (res) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => finish({ status: res.statusCode ?? 0, body: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks) }));
    res.on('error', (err) => finish(`response: ${err.message}`));
  });
  req.setTimeout(target.requestTimeoutMs, () => req.destroy(new Error(`no answer within ${target.requestTimeoutMs} ms`)));
  req.on('error', (err) => finish(`request: ${err.message}`));
  req.end(r.body);
}

/** The fault's or status's reason text, if the body has one (only read for failures, so cost does not matter). */
function failureDetail(body: Buffer): string {
  const match = /<(?:[\w-]+:)?(?:Reason|Text|Message)\b[^>]*>([^<]{1,200})</.exec(body.toString('utf8'));
  return match ? `: ${match[1]}` : '';
}

const EMPTY = Buffer.alloc(0);
