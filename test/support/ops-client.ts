import { strict as assert } from 'node:assert';
import { readFileSync, writeFileSync } from 'node:fs';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { request } from 'node:https';
import { join } from 'node:path';
import { DEMO_RELYING_PARTY, DEMO_USER } from '../../src/instance/init-instance';
import { parseExposition, sampleValue, type Exposition } from './exposition';
import { httpsRequest } from './https-client';
import { appliesTo, trustRequest } from './trust-messages';
import { runSts } from './unit-cli';
import { until } from './until';

// For the tests that drive a real `sts serve`: a demo instance, its metrics, and a request held open
// half-sent (in flight) until the test lets it finish.

export interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** `sts init --demo` in `home`, with `config` written over its config.json; returns the demo password and the TLS CA. */
export function initDemoInstance(home: string, config: Record<string, unknown> = {}): { password: string; ca: string } {
  const init = runSts(['init', '--home', home, '--demo']);
  assert.equal(init.status, 0, init.stderr);
  const path = join(home, 'config.json');
  writeFileSync(path, JSON.stringify({ ...(JSON.parse(readFileSync(path, 'utf8')) as object), ...config }, null, 2));
  const password = /^password: (.*)$/m.exec(readFileSync(join(home, 'demo-credentials.txt'), 'utf8'))?.[1];
  assert.ok(password, 'the demo password');
  return { password, ca: readFileSync(join(home, 'tls', 'localhost.crt.pem'), 'utf8') };
}

export async function scrape(baseUrl: string, ca: string): Promise<Exposition> {
  const res = await httpsRequest(`${baseUrl}/metrics`, { ca });
  assert.equal(res.status, 200, res.body);
  return parseExposition(res.body);
}

/** A WS-Trust Issue for the demo user and relying party. */
export function demoIssue(password: string): { body: string; headers: Record<string, string> } {
  return trustRequest({ version: '1.3', username: DEMO_USER, password, requestType: 'Issue', rstBody: appliesTo(DEMO_RELYING_PARTY) });
}

/**
 * A POST whose headers and first half of the body are sent now; the server has the request in
 * flight, reading its body, until finish() sends the rest.
 */
export class HeldRequest {
  private readonly req: ClientRequest;
  private readonly rest: Buffer;
  readonly reply: Promise<Reply>;

  constructor(url: string, ca: string, message: { body: string; headers: Record<string, string> }) {
    const body = Buffer.from(message.body, 'utf8');
    const half = Math.floor(body.length / 2);
    this.rest = body.subarray(half);
    this.req = request(url, { method: 'POST', headers: { ...message.headers, 'Content-Length': String(body.length) }, ca, agent: false });
    this.reply = new Promise((resolve, reject) => {
      this.req.on('response', (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      this.req.on('error', reject);
    });
    this.reply.catch(() => undefined);
    this.req.write(body.subarray(0, half));
  }

  finish(): Promise<Reply> {
    this.req.end(this.rest);
    return this.reply;
  }
}

/** Sends a whole POST and never reads the answer: destroy() is a client giving up on it. */
export function leavingRequest(url: string, ca: string, message: { body: string; headers: Record<string, string> }): ClientRequest {
  const req = request(url, { method: 'POST', headers: { ...message.headers, 'Content-Length': String(Buffer.byteLength(message.body)) }, ca, agent: false });
  // Its own destroy() ends it with an error nobody needs.
  req.on('error', () => undefined);
  req.end(message.body);
  return req;
}

/** Polls /metrics until `inFlight` requests (counting the scrape itself) are being answered. */
export async function waitForInFlight(baseUrl: string, ca: string, inFlight: number, timeoutMs = 10_000): Promise<void> {
  await until(
    async () => sampleValue(await scrape(baseUrl, ca), 'trustbridge_http_requests_in_flight') === inFlight,
    `${inFlight} requests in flight`,
    timeoutMs,
    100,
  );
}

/** The JSON log lines a process printed, parsed (the CLI's banner lines are skipped). */
export function jsonLines(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
