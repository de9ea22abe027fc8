import type { BenchInstance } from './instance';
import type { MixRequest } from './open-loop';
import { operationRequests } from './operation-requests';

// The sustained load's mix: WS-Trust 1.3 Issue, Validate of a token this server issued, and
// AssumeRoleWithSAML with one of its assertions (the bench instance turns AWS replay protection off,
// as AWS itself has none, so one assertion serves the whole run), sent in turn.

export const MIX_OPERATIONS = ['Issue', 'Validate', 'AssumeRoleWithSAML'] as const;
/** Present in each Issue reply's assertion, as its signature. */
const SIGNATURE_VALUE_MARKER = Buffer.from('SignatureValue>');

/** The mix's requests, in MIX_OPERATIONS' order; fetches the two tokens they present. */
export async function buildMix(port: number, inst: BenchInstance): Promise<MixRequest[]> {
  const { requests } = await operationRequests(port, inst, MIX_OPERATIONS);
  return MIX_OPERATIONS.map((operation) => {
    const request = requests[operation];
    // Over a long run every Issue reply must carry a signed token, not merely an RSTR.
    const markers = operation === 'Issue' ? [...request.markers, SIGNATURE_VALUE_MARKER] : request.markers;
    return { operation, ...request, markers };
  });
}
