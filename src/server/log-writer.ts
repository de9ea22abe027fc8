// Log lines leave in one write per turn of the event loop rather than one each: on stdout redirected
// to a file or a pipe every write is a synchronous system call, and at thousands of requests a
// second (one info line per token) that was about 1.5% of the server's CPU.

const FLUSH_AT_BYTES = 64 * 1024;

/**
 * A line writer for createJsonLogger that batches the lines written during one turn of the event loop
 * into one write of `out`. Lines are flushed before the process exits (process.exit included); a
 * SIGKILL loses at most the lines of the current turn.
 */
export function batchingLineWriter(out: (text: string) => void = (t) => process.stdout.write(t)): (line: string) => void {
  let pending = '';
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    if (pending === '') return;
    const text = pending;
    pending = '';
    out(text);
  };
  process.on('exit', flush);
  return (line) => {
    pending += line;
    if (pending.length >= FLUSH_AT_BYTES) flush();
    else if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
}
