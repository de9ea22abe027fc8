/**
 * Whether a serving process signs tokens on libuv's thread pool rather than on its event loop. With a
 * core to spare per worker, the pool lets one worker use it; with a worker on every core, the
 * hand-over to another thread would only add CPU (measured 5-10% per token).
 */
export const signsTokensOffThread = (workers: number, cores: number): boolean => workers < cores;
