import type { AuditTrail } from './audit-trail';
import type { RequestObserver, RequestRecord } from './request-record';

/**
 * Every answered protocol request becomes one audit event, and each alert it raised one more
 * (eventSource detector), carrying the request's id so the two are read together. Metadata and
 * health reads are not audited.
 */
export function requestAuditObserver(trail: AuditTrail): RequestObserver {
  return {
    observe(r: RequestRecord) {
      if (r.api === 'http') return;
      const who = { requestId: r.requestId, sourceAddress: r.sourceAddress, userAgent: r.userAgent, principal: r.principal };
      trail.record({
        ...who,
        eventName: r.operation,
        eventSource: r.api,
        requestParameters: r.requestParameters,
        responseElements: r.responseElements,
        additionalEventData: r.additionalEventData,
        errorCode: r.errorCode,
        errorMessage: r.errorMessage,
      });
      for (const alert of r.alerts) {
        trail.record({ ...who, eventName: alert.name, eventSource: 'detector', alert: alert.name, additionalEventData: { operation: r.operation, ...alert.facts } });
      }
    },
  };
}
