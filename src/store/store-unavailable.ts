// A store that cannot be reached right now (its server stopped, restarting, or refusing connections)
// is not a bug in the request: the caller is told to try again, not handed an internal error, and
// the node keeps running, so it serves again as soon as the store answers.

// SQLSTATE class 08 (connection exception), and the shutdown and start-up codes of class 57.
const UNAVAILABLE_SQLSTATE = /^(08...|57P01|57P02|57P03)$/;
// What the socket says when the server is gone or not listening.
const UNAVAILABLE_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
// node-postgres reports a dropped connection and a connect timeout with these messages and no code.
const UNAVAILABLE_MESSAGE = /^(Connection terminated( unexpectedly)?|Connection terminated due to connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error and is not queryable)$/;

/** True when `err` says the store could not be reached (as opposed to a query or a row it refused). */
export function isStoreUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_ERRNO.has(code))) return true;
  // Several addresses tried (localhost as ::1 and 127.0.0.1): unavailable when every one was.
  if (err instanceof AggregateError) return err.errors.length > 0 && err.errors.every(isStoreUnavailable);
  return UNAVAILABLE_MESSAGE.test(err.message);
}
