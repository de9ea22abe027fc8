import type { PinState } from '../store/store';
import { thumbprintOfPem, type RelyingPartyPin } from './relying-party-pin';

// The pins file a relying party keeps (or `sts trust export-pins` writes):
//   { "pins": [ { "issuer": URI, "thumbprint": hex SHA-256, "certificatePem": PEM, "state": pending|active|retired|revoked,
//                 "activateAt": ISO time or null, "retireAt": ISO time or null } ] }
// Every field is checked and unknown ones are refused, so a misspelt "retireAt" never passes silently.

export class PinsFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PinsFileError';
  }
}

const STATES: readonly PinState[] = ['pending', 'active', 'retired', 'revoked'];
const FIELDS = ['issuer', 'thumbprint', 'certificatePem', 'state', 'activateAt', 'retireAt'];
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})$/;

/** Reads a pins file; PinsFileError names the entry and field that is wrong. */
export function readPinsFile(text: string): RelyingPartyPin[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new PinsFileError('the pins file is not JSON');
  }
  if (!isObject(parsed) || !Array.isArray(parsed['pins']) || Object.keys(parsed).some((k) => k !== 'pins')) {
    throw new PinsFileError('the pins file must be an object with one member, "pins", a list');
  }
  return parsed['pins'].map((entry: unknown, index: number) => readPin(entry, `pins[${index}]`));
}

/** The pins file for `pins`, as readPinsFile reads it. */
export function renderPinsFile(pins: readonly RelyingPartyPin[]): string {
  const entries = pins.map((p) => ({
    issuer: p.issuer,
    thumbprint: p.thumbprint,
    certificatePem: p.certificatePem,
    state: p.state,
    activateAt: p.activateAt?.toISOString() ?? null,
    retireAt: p.retireAt?.toISOString() ?? null,
  }));
  return `${JSON.stringify({ pins: entries }, null, 2)}\n`;
}

function readPin(entry: unknown, where: string): RelyingPartyPin {
  if (!isObject(entry)) throw new PinsFileError(`${where} is not an object`);
  const unknown = Object.keys(entry).find((k) => !FIELDS.includes(k));
  if (unknown !== undefined) throw new PinsFileError(`${where} has an unknown field "${unknown}"`);
  const issuer = entry['issuer'];
  if (typeof issuer !== 'string' || issuer === '') throw new PinsFileError(`${where}.issuer must be a non-empty string`);
  const certificatePem = entry['certificatePem'];
  if (typeof certificatePem !== 'string') throw new PinsFileError(`${where}.certificatePem must be a PEM certificate`);
  let thumbprint: string;
  try {
    thumbprint = thumbprintOfPem(certificatePem);
  } catch {
    throw new PinsFileError(`${where}.certificatePem is not a PEM X.509 certificate`);
  }
  const given = entry['thumbprint'];
  if (given !== undefined && (typeof given !== 'string' || given.toLowerCase() !== thumbprint)) {
    throw new PinsFileError(`${where}.thumbprint is not the SHA-256 thumbprint of its certificate (${thumbprint})`);
  }
  const state = entry['state'];
  if (typeof state !== 'string' || !STATES.includes(state as PinState)) {
    throw new PinsFileError(`${where}.state must be one of ${STATES.join(', ')}`);
  }
  return {
    issuer,
    thumbprint,
    certificatePem,
    state: state as PinState,
    activateAt: readTime(entry['activateAt'], `${where}.activateAt`),
    retireAt: readTime(entry['retireAt'], `${where}.retireAt`),
  };
}

function readTime(value: unknown, where: string): Date | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || !ISO_TIME.test(value) || Number.isNaN(Date.parse(value))) {
    throw new PinsFileError(`${where} must be an ISO 8601 time such as 2026-12-01T00:00:00Z, or null`);
  }
  return new Date(value);
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
