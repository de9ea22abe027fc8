import { ALERT_SEVERITY } from '../../audit/alerts';
import type { AuditTrail } from '../../audit/audit-trail';
import type { RequestObserver, RequestRecord } from '../../audit/request-record';
import type { TrustOperation } from '../../wstrust/operations';
import type { Counter, CounterChild, Histogram, HistogramChild, MetricsRegistry } from './registry';

// Label values come from fixed sets only: an operation nobody implements (an AWS Action a caller
// made up) is counted as 'unknown', a fault code that is not shaped like ours as 'other'. What a
// caller sends never becomes a label, so the number of series stays bounded.

const WSTRUST_OPERATIONS: Readonly<Record<TrustOperation, true>> = { Issue: true, Validate: true, Renew: true, Cancel: true };
/** The actions of the AWS Query API (src/aws/aws-api.ts): add one here when an action is added there. */
const AWS_OPERATIONS = ['AssumeRoleWithSAML', 'GetCallerIdentity'] as const;
const OPERATIONS = {
  wstrust: [...(Object.keys(WSTRUST_OPERATIONS) as TrustOperation[]), 'unknown'],
  aws: [...AWS_OPERATIONS, 'unknown'],
} as const;
/** The operations that mint a token or credentials. */
const ISSUING_OPERATIONS = ['Issue', 'Renew', 'AssumeRoleWithSAML'];

/** `wst:InvalidRequest`, `wsse:FailedAuthentication`, `InvalidIdentityToken`: our own catalogue's shape. */
const FAULT_CODE = /^(?:[a-z]{1,8}:)?[A-Za-z]{1,64}$/;
/** Distinct fault codes one operation may show before the rest are counted as 'other'. */
const MAX_FAULT_CODES_PER_OPERATION = 32;

/** One operation's series, bound once: counting a request is then a few additions. */
class OperationSeries {
  private readonly success: CounterChild;
  private readonly fault: CounterChild;
  private readonly error: CounterChild;
  private readonly duration: HistogramChild;
  private readonly faultsByCode = new Map<string, CounterChild>();

  constructor(
    private readonly api: string,
    private readonly operation: string,
    requests: Counter,
    private readonly faults: Counter,
    duration: Histogram,
    private readonly issued: CounterChild | undefined,
  ) {
    this.success = requests.labels(api, operation, 'success');
    this.fault = requests.labels(api, operation, 'fault');
    this.error = requests.labels(api, operation, 'error');
    this.duration = duration.labels(api, operation);
  }

  observe(r: RequestRecord): void {
    if (r.internalError) this.error.inc();
    else if (r.errorCode === null) this.success.inc();
    else this.fault.inc();
    // Internal errors reach the caller as a fault too (wst:RequestFailed, InternalFailure): counted by code as well.
    if (r.errorCode !== null) (this.faultsByCode.get(r.errorCode) ?? this.faultSeries(r.errorCode)).inc();
    this.duration.observe(r.durationMs / 1000);
    if (r.issued > 0) this.issued?.inc(r.issued);
  }

  private faultSeries(code: string): CounterChild {
    const label = FAULT_CODE.test(code) && this.faultsByCode.size < MAX_FAULT_CODES_PER_OPERATION ? code : 'other';
    const child = this.faults.labels(this.api, this.operation, label);
    if (label === code) this.faultsByCode.set(code, child);
    return child;
  }
}

/**
 * Counts every answered WS-Trust and AWS request (requests, faults by code, latency, tokens issued)
 * and every alert recorded in the audit trail, whether a request raised it or a detector or admin
 * command recorded it directly; each alert is counted once, where it is recorded.
 */
export function requestMetrics(registry: MetricsRegistry, trail: AuditTrail): RequestObserver {
  const requests = registry.counter('trustbridge_requests_total', 'WS-Trust and AWS requests answered, by outcome (success, fault: refused, error: failed inside the STS).', [
    'api',
    'operation',
    'outcome',
  ]);
  const faults = registry.counter('trustbridge_faults_total', 'Faults and errors returned, by SOAP fault code or AWS error code.', ['api', 'operation', 'code']);
  const duration = registry.histogram('trustbridge_request_duration_seconds', 'Time from the request arriving to its answer being handed to the socket.', ['api', 'operation']);
  const tokens = registry.counter('trustbridge_tokens_issued_total', 'Tokens and temporary credentials issued, each recorded in the issuance ledger.', ['operation']);
  const alerts = registry.counter('trustbridge_alerts_total', 'Alerts recorded in the audit trail by this node.', ['alert', 'severity']);

  const issued = new Map(ISSUING_OPERATIONS.map((op) => [op, tokens.labels(op)]));
  const byApi = new Map<string, Map<string, OperationSeries>>();
  for (const [api, operations] of Object.entries(OPERATIONS)) {
    byApi.set(api, new Map(operations.map((op) => [op, new OperationSeries(api, op, requests, faults, duration, issued.get(op))])));
  }
  const alertSeries = new Map<string, CounterChild>(Object.entries(ALERT_SEVERITY).map(([alert, severity]) => [alert, alerts.labels(alert, severity)]));
  trail.subscribe((event) => {
    if (event.alert !== null) (alertSeries.get(event.alert) ?? alerts.labels(event.alert, event.severity)).inc();
  });

  return {
    observe(r) {
      const operations = byApi.get(r.api);
      if (operations === undefined) return;
      (operations.get(r.operation) ?? (operations.get('unknown') as OperationSeries)).observe(r);
    },
  };
}

/**
 * Counts the answers of the routes outside the protocols (metadata, mex, health, readiness,
 * metrics, and anything unmatched); `route` is one of the app's own paths or 'unmatched'.
 */
export function httpRouteMetrics(registry: MetricsRegistry): (route: string, status: number) => void {
  const counter = registry.counter('trustbridge_http_requests_total', 'Requests to the routes outside WS-Trust and AWS (metadata, health, metrics), and WS-Trust and AWS requests their protocol did not answer (499: the client left while waiting for a turn), by status.', ['route', 'status']);
  const byRoute = new Map<string, Map<number, CounterChild>>();
  return (route, status) => {
    let byStatus = byRoute.get(route);
    if (byStatus === undefined) byRoute.set(route, (byStatus = new Map()));
    let child = byStatus.get(status);
    if (child === undefined) byStatus.set(status, (child = counter.labels(route, String(status))));
    child.inc();
  };
}
