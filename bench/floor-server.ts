// `node dist/bench/floor-server.js`: the floor `npm run bench` measures Issue against. A bare
// node:https server (no Koa, no XML parsing, no store) that, per POST, reads the body, makes ONE
// RSA-2048 SHA-256 signature over a SignedInfo-sized digest of it and answers with a reply of a real
// token's size: the least CPU per request any Node STS on this machine can spend. Started by
// bench/floor.ts as a process of its own, so its CPU is read from /proc like the STS's.
//
//   --tls-certificate FILE --tls-key FILE   the bench instance's TLS certificate and (plain PEM) key
//   --reply-bytes N                         the size of one real Issue reply
//   --sign-on event-loop | thread-pool      crypto.sign inline, or with a callback (libuv's pool)
//
// It listens on a free loopback port and prints "floor listening on 127.0.0.1:PORT"; SIGTERM stops it.
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { floorReplyBuilder, floorSignedData } from './floor-reply';
import { SOAP12_CONTENT_TYPE } from './issue-request';

const FLOOR_SIGN_ON = ['event-loop', 'thread-pool'] as const;
/** Where the floor server signs: inline on its event loop, or on libuv's thread pool (as one STS worker does). */
export type FloorSignOn = (typeof FLOOR_SIGN_ON)[number];

type Signer = (data: Buffer, done: (err: Error | null, signature: Buffer) => void) => void;

function signerFor(signOn: FloorSignOn, key: KeyObject): Signer {
  if (signOn === 'thread-pool') return (data, done) => sign('sha256', data, key, done);
  return (data, done) => done(null, sign('sha256', data, key));
}

function floorServer(options: { cert: string; key: string; replyBytes: number; signOn: FloorSignOn }): Server {
  // Generated here rather than read from the instance: its token-signing key is sealed under the master key.
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const signer = signerFor(options.signOn, privateKey);
  const reply = floorReplyBuilder(options.replyBytes);
  const headers = { 'content-type': SOAP12_CONTENT_TYPE, 'content-length': String(options.replyBytes) };
  const server = createServer({ cert: options.cert, key: options.key }, (req, res) => {
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST' }).end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
      signer(floorSignedData(body), (err, signature) => {
        if (err) res.writeHead(500).end();
        else res.writeHead(200, headers).end(reply(signature.toString('base64')));
      });
    });
  });
  // As the STS's listener (src/server/listen.ts): the load generator's keep-alive connections stay open.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 30_000;
  return server;
}

function main(): void {
  const { values } = parseArgs({
    options: {
      'tls-certificate': { type: 'string' },
      'tls-key': { type: 'string' },
      'reply-bytes': { type: 'string' },
      'sign-on': { type: 'string' },
    },
  });
  const signOn = FLOOR_SIGN_ON.find((s) => s === values['sign-on']);
  const replyBytes = Number(values['reply-bytes']);
  const certFile = values['tls-certificate'];
  const keyFile = values['tls-key'];
  if (signOn === undefined || !Number.isInteger(replyBytes) || certFile === undefined || keyFile === undefined) {
    throw new Error(`usage: floor-server --tls-certificate FILE --tls-key FILE --reply-bytes N --sign-on ${FLOOR_SIGN_ON.join('|')}`);
  }
  const server = floorServer({ cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8'), replyBytes, signOn });
  server.listen(0, '127.0.0.1', () => {
    const { address, port } = server.address() as AddressInfo;
    console.log(`floor listening on ${address}:${port}`);
  });
}

main();
