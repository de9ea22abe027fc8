import type { OperationsEndpoints } from './app';
import { describeError, type Logger } from './log';
import type { ReadinessReport } from './readiness';
import { EXPOSITION_CONTENT_TYPE, renderExposition } from './metrics/exposition';
import type { NodeSnapshot } from './metrics/cluster-metrics';

export interface OperationsEndpointsOptions {
  readonly nodeSnapshot: NodeSnapshot;
  readonly readiness: () => Promise<ReadinessReport>;
  readonly served: (route: string, status: number) => void;
  readonly logger: Logger;
}

/** /metrics (the node's exposition, or 503 when it cannot be gathered) and /readyz (200 or 503, with each check's result). */
export function operationsEndpoints(o: OperationsEndpointsOptions): OperationsEndpoints {
  return {
    async metrics() {
      try {
        return { status: 200, contentType: EXPOSITION_CONTENT_TYPE, body: renderExposition(await o.nodeSnapshot()) };
      } catch (err) {
        // A partial answer would read as counters going backwards; a failed scrape reads as what it is.
        o.logger.log('warn', 'metrics of the node unavailable', describeError(err));
        return { status: 503, contentType: 'text/plain; charset=utf-8', body: 'The metrics of this node are unavailable; try again.\n' };
      }
    },
    async readiness() {
      const report = await o.readiness();
      return {
        status: report.ready ? 200 : 503,
        contentType: 'application/json',
        body: JSON.stringify({ status: report.ready ? 'ready' : 'not ready', checks: report.checks }),
      };
    },
    served: o.served,
  };
}
