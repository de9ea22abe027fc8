import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import type { FlagSpec } from '../args';

// What every command that talks to a running STS shares: where it is, which TLS certificate to
// trust, and one connection agent per command run.

export const STS_FLAG: FlagSpec = { name: 'sts', kind: 'string', help: 'base URL of the STS, e.g. https://localhost:9443' };
export const CA_FLAG: FlagSpec = {
  name: 'ca',
  kind: 'string',
  help: "PEM certificate(s) to trust for the STS's TLS certificate (default: the system store)",
};

/** An HTTPS agent trusting `caFile` when given (the system store otherwise); destroy it when done. */
export function stsAgent(caFile: string | undefined): Agent {
  return new Agent({ ...(caFile ? { ca: readFileSync(caFile, 'utf8') } : {}), keepAlive: false });
}
