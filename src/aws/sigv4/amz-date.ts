// The request time SigV4 signs: X-Amz-Date in ISO 8601 basic format (20261122T001233Z), or else the
// HTTP Date header (IMF-fixdate, RFC 9110), which goes into the string to sign in the basic format.

const BASIC = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
const IMF_FIXDATE = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const MONTHS = 'JanFebMarAprMayJunJulAugSepOctNovDec';

/** Parses `yyyymmddThhmmssZ`; undefined unless it is a real instant written exactly that way. */
export function parseAmzDate(value: string): Date | undefined {
  const m = BASIC.exec(value);
  if (m === null) return undefined;
  return checked(Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}

/** Parses an IMF-fixdate such as `Sun, 22 Nov 2026 00:12:33 GMT` (the weekday is not checked). */
export function parseHttpDate(value: string): Date | undefined {
  const m = IMF_FIXDATE.exec(value);
  if (m === null) return undefined;
  const month = MONTHS.indexOf(m[2] as string) / 3 + 1;
  return checked(Number(m[3]), month, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
}

/** `yyyymmddThhmmssZ`, whole seconds. */
export function formatAmzDate(date: Date): string {
  return date.toISOString().replace(/[-:]|\.\d{3}/g, '');
}

// Date.UTC rolls 31 February over into March; such a date is refused rather than reinterpreted.
function checked(year: number, month: number, day: number, hour: number, minute: number, second: number): Date | undefined {
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  const same =
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day &&
    date.getUTCHours() === hour &&
    date.getUTCMinutes() === minute &&
    date.getUTCSeconds() === second;
  return same ? date : undefined;
}
