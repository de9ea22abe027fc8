import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP listener on loopback that counts the connections it receives: the address an attack asks the
 * server to fetch (an external entity or DTD, an XInclude, a stylesheet, a WS-Addressing ReplyTo).
 * No connection may ever arrive. Each one is closed at once.
 */
export interface OutboundListener {
  readonly url: string;
  /** Connections received since start (or the last reset). */
  connections(): number;
  reset(): void;
  close(): Promise<void>;
}

export async function startOutboundListener(): Promise<OutboundListener> {
  let count = 0;
  let counted: () => void = () => undefined;
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    count++;
    counted();
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the listener has no port');
  // The suites assert that no connection arrives: first prove that one that does is counted.
  await new Promise<void>((resolve, reject) => {
    counted = resolve;
    connect(address.port, '127.0.0.1').on('error', () => undefined);
    setTimeout(() => reject(new Error('the outbound listener did not count a connection made to it')), 5000).unref();
  });
  if (count !== 1) throw new Error(`the outbound listener counted ${count} connections for one`);
  counted = () => undefined;
  count = 0;
  return {
    url: `http://127.0.0.1:${address.port}/attack`,
    connections: () => count,
    reset: () => {
      count = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
