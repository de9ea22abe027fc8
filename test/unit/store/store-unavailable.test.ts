import { strict as assert } from 'node:assert';
import { isStoreUnavailable } from '../../../src/store/store-unavailable';

// Which store failures are an outage (the caller is told to retry; the node keeps serving) and
// which are a refused query or row (a bug or a conflict, reported as such).

const withCode = (message: string, code: string): Error => Object.assign(new Error(message), { code });

describe('unit: isStoreUnavailable', () => {
  it('a refused or dropped connection, a server shutting down or starting up, a connect timeout: unavailable', () => {
    for (const err of [
      withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'),
      withCode('read ECONNRESET', 'ECONNRESET'),
      withCode('terminating connection due to administrator command', '57P01'),
      withCode('terminating connection because of crash of another server process', '57P02'),
      withCode('the database system is starting up', '57P03'),
      withCode('connection failure', '08006'),
      new Error('Connection terminated unexpectedly'),
      new Error('Connection terminated due to connection timeout'),
      new Error('timeout exceeded when trying to connect'),
      new Error('Client has encountered a connection error and is not queryable'),
      new AggregateError([withCode('connect ECONNREFUSED ::1:5432', 'ECONNREFUSED'), withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED')], ''),
    ]) {
      assert.equal(isStoreUnavailable(err), true, err.message);
    }
  });

  it('a constraint, a syntax error, a wrong password, anything else or a non-error: not unavailable', () => {
    for (const err of [
      withCode('duplicate key value violates unique constraint "issuance_ledger_pkey"', '23505'),
      withCode('syntax error at or near "SELEC"', '42601'),
      withCode('password authentication failed for user "sts"', '28P01'),
      new Error('the ledger is append-only'),
      new Error('Connection terminated unexpectedly, or so says this message'),
      new AggregateError([withCode('connect ECONNREFUSED ::1:5432', 'ECONNREFUSED'), new Error('other')], ''),
      new AggregateError([], ''),
      'Connection terminated unexpectedly',
      undefined,
    ]) {
      assert.equal(isStoreUnavailable(err), false, String(err instanceof Error ? err.message : err));
    }
  });
});
