// xsd:dateTime as WS-Security and SAML use it: a zone is required (WS-Security says UTC), so a
// value without one is refused rather than read in the server's local time.
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

export function parseDateTime(value: string): Date | undefined {
  if (!DATE_TIME.test(value)) return undefined;
  // Date.parse accepts at most millisecond precision; truncate longer fractions first.
  const normalised = value.replace(/(\.\d{3})\d+/, '$1');
  const ms = Date.parse(normalised);
  if (Number.isNaN(ms)) return undefined;
  // Date.parse rolls impossible days forward (February 30th becomes March 1st); refuse them instead.
  const year = Number(value.slice(0, 4));
  const month = Number(value.slice(5, 7));
  const day = Number(value.slice(8, 10));
  if (month < 1 || month > 12 || day < 1 || day > new Date(Date.UTC(year, month, 0)).getUTCDate()) return undefined;
  return new Date(ms);
}
