// Reading condition values as the typed operators need them. Each reader returns undefined for a
// value that is not of its type; the caller then makes the condition false rather than guess.

import { parseDateTime } from '../../xml/datetime';

// Plain decimal notation only: Number() would also take '', ' ', '0x1F' and 'Infinity'.
const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const EPOCH_SECONDS = /^\d+$/;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

export function parseNumber(value: string): number | undefined {
  return DECIMAL.test(value) ? Number(value) : undefined;
}

/**
 * A date condition value as milliseconds since the epoch: epoch seconds (as aws:EpochTime gives
 * them), an ISO 8601 date (midnight UTC), or an ISO 8601 date-time with a zone. A date-time
 * without a zone is refused rather than read in the server's local time.
 */
export function parseDate(value: string): number | undefined {
  if (EPOCH_SECONDS.test(value)) return Number(value) * 1000;
  if (DATE_ONLY.test(value)) return parseDateTime(`${value}T00:00:00Z`)?.getTime();
  return parseDateTime(value)?.getTime();
}

export function parseBool(value: string): boolean | undefined {
  const lower = value.toLowerCase();
  return lower === 'true' ? true : lower === 'false' ? false : undefined;
}

/**
 * An ARN's six colon-separated components: arn, partition, service, region, account and resource.
 * The resource is everything after the fifth colon, colons included.
 */
export function splitArn<T>(items: readonly T[], isColon: (item: T) => boolean): T[][] | undefined {
  let current: T[] = [];
  const components = [current];
  for (const item of items) {
    if (isColon(item) && components.length < 6) components.push((current = []));
    else current.push(item);
  }
  return components.length === 6 ? components : undefined;
}
