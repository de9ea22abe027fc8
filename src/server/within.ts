/** Thrown by within() when the work took longer than allowed. */
export class TimedOutError extends Error {
  constructor(readonly afterMs: number) {
    super(`timed out after ${afterMs} ms`);
    this.name = 'TimedOutError';
  }
}

/** `work`, or a TimedOutError once `ms` have passed (the work itself is not cancelled). */
export function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimedOutError(ms)), ms);
    timer.unref();
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
