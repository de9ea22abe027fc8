import { strict as assert } from 'node:assert';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { RequestObserver, RequestRecord } from '../../../src/audit/request-record';
import { createApp, requestTurns } from '../../../src/server/app';
import type { Logger } from '../../../src/server/log';
import { NS } from '../../../src/xml/namespaces';
import { awsError } from '../../support/aws-sts';
import { STACK_TRACE } from '../../support/ext-trust';
import { recordLogs, recordPassword } from '../../support/observed-traffic';
import { parseFault, parseIssueResponse } from '../../support/soap-reply';
import { postToSts, type PostResult } from '../../support/sts-post';
import { startTestSts, type LogRecord, type TestSts } from '../../support/test-sts';
import { buildRst } from '../../support/wstrust-request';

// A request observer (the audit trail, metrics, detectors, or one a deployment adds) that throws
// must not cost the caller their answer: the reply is the one they would have had, the failure is
// one log line for operators, the observers after it still see the record, and later requests are
// served as if nothing happened.

const USER = 'observed@example.com';
const PASSWORD = 'Observer-Suite-Horse-4&';
const RP = 'https://rp.observers.example/';
const BROKEN = 'observer broke while counting';

describe('server/app: a request observer that throws', function () {
  this.timeout(30_000);
  let sts: TestSts;
  let server: Server;
  let baseUrl: string;
  const logs: LogRecord[] = [];
  const seen: RequestRecord[] = [];
  let failuresLeft = 0;

  before(async () => {
    sts = await startTestSts();
    recordPassword(PASSWORD);
    recordLogs(logs);
    await sts.addUser({ name: USER, password: PASSWORD, claims: [] });
    await sts.addRelyingParty({ appliesTo: RP });
    const logger: Logger = { log: (level, msg, fields) => logs.push({ level, msg, fields: fields ?? {} }) };
    const throwing: RequestObserver = {
      observe: () => {
        if (failuresLeft > 0) {
          failuresLeft--;
          throw new Error(BROKEN);
        }
      },
    };
    const recording: RequestObserver = { observe: (record) => void seen.push(record) };
    // The app on the test instance (its audit observer included, not listen()'s metrics), with the two observers after the built-in ones.
    const app = createApp({ instance: sts.instance, logger, baseUrl: () => baseUrl, observers: [throwing, recording], ...requestTurns(sts.instance.config) });
    server = createServer({ key: sts.instance.tls.key, cert: sts.instance.tls.cert }, app.callback());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    await sts?.stop();
  });

  const issue = (password = PASSWORD): Promise<PostResult> => {
    const req = buildRst({ appliesTo: RP, usernameToken: { username: USER, password } });
    return postToSts(`${baseUrl}${req.path}`, { ca: sts.tlsCertificatePem, headers: req.headers, body: req.body });
  };
  const linesOf = (requestId: string): LogRecord[] => logs.filter((r) => r.fields['requestId'] === requestId);
  const auditedIds = async (): Promise<unknown[]> => {
    await sts.instance.audit.flush();
    return (await sts.instance.store.audit.query({ limit: 1000 })).map((e) => e.requestId);
  };

  /** The one 'request observer failed' line for this request: the error's name and message, no stack. */
  function expectObserverFailureLogged(requestId: string): void {
    const failures = linesOf(requestId).filter((r) => r.msg === 'request observer failed');
    assert.equal(failures.length, 1, JSON.stringify(linesOf(requestId)));
    assert.equal(failures[0]?.level, 'error');
    assert.deepEqual(failures[0]?.fields, { requestId, errorName: 'Error', errorMessage: BROKEN });
  }

  it('an Issue is answered with its token and recorded in the ledger; the failure is logged once; the next observer and the audit trail still see it', async () => {
    failuresLeft = 1;
    const ledgerBefore = await sts.instance.store.ledger.count();
    const res = await issue();
    assert.equal(res.status, 200, res.body.slice(0, 600));
    const reply = parseIssueResponse(res.body, '1.3');
    assert.equal(await sts.instance.store.ledger.count(), ledgerBefore + 1);
    assert.ok(await sts.instance.store.ledger.get(reply.assertion.getAttribute('ID') ?? ''), 'the token is in the ledger');
    assert.doesNotMatch(res.body, new RegExp(BROKEN));
    expectObserverFailureLogged(res.requestId);
    assert.deepEqual(
      linesOf(res.requestId).map((r) => r.msg),
      ['request served', 'request observer failed'],
      'the request\'s own line first, as without the failure',
    );
    assert.deepEqual(seen.filter((r) => r.requestId === res.requestId).map((r) => [r.operation, r.status, r.issued]), [['Issue', 200, 1]]);
    assert.ok((await auditedIds()).includes(res.requestId), 'the audit trail (an observer before it) recorded the request');
  });

  it('a refused Issue gets its own fault, not an internal error', async () => {
    failuresLeft = 1;
    const res = await issue('Observer-Suite-Wrong-1!');
    assert.equal(res.status, 400, res.body.slice(0, 600));
    const fault = parseFault(res.body);
    assert.deepEqual(fault.code, { ns: NS.soap12, local: 'Sender' });
    assert.deepEqual(fault.subcode, { ns: NS.wsse, local: 'FailedAuthentication' });
    assert.doesNotMatch(res.body, STACK_TRACE);
    expectObserverFailureLogged(res.requestId);
    assert.equal(linesOf(res.requestId).filter((r) => r.msg === 'internal error').length, 0);
    assert.deepEqual(seen.filter((r) => r.requestId === res.requestId).map((r) => r.errorCode), ['wsse:FailedAuthentication']);
  });

  it('an AWS Query API request gets its AWS error as usual', async () => {
    failuresLeft = 1;
    const res = await postToSts(`${baseUrl}/`, {
      ca: sts.tlsCertificatePem,
      headers: { 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8' },
      body: 'Action=GetCallerIdentity&Version=2011-06-15',
    });
    assert.equal(res.status, 403, res.body.slice(0, 600));
    assert.equal(awsError(res.body).code, 'MissingAuthenticationToken');
    assert.doesNotMatch(res.body, STACK_TRACE);
    expectObserverFailureLogged(res.requestId);
    assert.deepEqual(seen.filter((r) => r.requestId === res.requestId).map((r) => [r.api, r.operation]), [['aws', 'GetCallerIdentity']]);
  });

  it('later requests are unaffected: served, observed, nothing more logged as failed', async () => {
    assert.equal(failuresLeft, 0);
    const failedBefore = logs.filter((r) => r.msg === 'request observer failed').length;
    assert.equal(failedBefore, 3, 'one line per failure so far');
    for (let i = 0; i < 3; i++) {
      const res = await issue();
      assert.equal(res.status, 200, res.body.slice(0, 600));
      assert.deepEqual(linesOf(res.requestId).map((r) => r.msg), ['request served']);
      assert.equal(seen.filter((r) => r.requestId === res.requestId).length, 1);
    }
    assert.equal(logs.filter((r) => r.msg === 'request observer failed').length, failedBefore);
    assert.doesNotMatch(JSON.stringify(logs), STACK_TRACE);
  });
});
