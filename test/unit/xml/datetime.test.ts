import { strict as assert } from 'node:assert';
import { parseDateTime } from '../../../src/xml/datetime';

describe('xml/datetime parseDateTime', () => {
  const accepted: Array<[string, string]> = [
    ['2024-01-02T03:04:05Z', '2024-01-02T03:04:05.000Z'],
    ['2024-01-02T03:04:05.1Z', '2024-01-02T03:04:05.100Z'],
    ['2024-01-02T03:04:05.123Z', '2024-01-02T03:04:05.123Z'],
    // WCF writes seven fraction digits; they are read to the millisecond (truncated, not rounded).
    ['2024-01-02T03:04:05.1239999Z', '2024-01-02T03:04:05.123Z'],
    ['2024-01-02T03:04:05.123456789Z', '2024-01-02T03:04:05.123Z'],
    ['2024-01-02T03:04:05+01:00', '2024-01-02T02:04:05.000Z'],
    ['2024-01-02T03:04:05-05:30', '2024-01-02T08:34:05.000Z'],
    ['2024-01-02T03:04:05.5+00:00', '2024-01-02T03:04:05.500Z'],
    ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000Z'],
    ['2024-12-31T23:59:59.999Z', '2024-12-31T23:59:59.999Z'],
  ];
  for (const [input, iso] of accepted) {
    it(`accepts ${input}`, () => {
      assert.equal(parseDateTime(input)?.toISOString(), iso);
    });
  }

  const refused: Array<[string, string]> = [
    ['2024-01-02T03:04:05', 'no zone (would be read in local time)'],
    ['2024-01-02T03:04:05.123', 'a fraction but no zone'],
    ['2024-13-02T03:04:05Z', 'month 13'],
    ['2024-00-02T03:04:05Z', 'month 0'],
    ['2024-01-32T03:04:05Z', 'day 32'],
    ['2024-01-02T03:60:05Z', 'minute 60'],
    ['2024-01-02T03:04:60Z', 'second 60'],
    ['2024-01-02T03:04:05+25:00', 'an offset of 25 hours'],
    ['2024-01-02T03:04:05.1234567890Z', 'a fraction of ten digits'],
    ['2024-01-02T03:04:05.Z', 'an empty fraction'],
    ['2024-01-02T03:04:05z', 'a lower-case z'],
    ['2024-01-02 03:04:05Z', 'a space instead of T'],
    [' 2024-01-02T03:04:05Z', 'leading space'],
    ['2024-01-02T03:04:05Z ', 'trailing space'],
    ['2024-01-02', 'a date without a time'],
    ['24-01-02T03:04:05Z', 'a two-digit year'],
    ['2024-1-2T3:4:5Z', 'single-digit fields'],
    ['1704164645', 'epoch seconds'],
    ['', 'the empty string'],
    ['Tue, 02 Jan 2024 03:04:05 GMT', 'an HTTP date'],
  ];
  for (const [input, why] of refused) {
    it(`refuses ${JSON.stringify(input)} (${why})`, () => {
      assert.equal(parseDateTime(input), undefined);
    });
  }

  // Date.parse rolls 30 February over to 1 March; a timestamp naming a day that does not exist
  // must be refused, not silently read as another instant.
  for (const input of ['2024-02-30T00:00:00Z', '2023-02-29T00:00:00Z', '2024-04-31T12:00:00Z']) {
    it(`refuses a day the month does not have: ${input}`, () => {
      assert.equal(parseDateTime(input), undefined, `read as ${parseDateTime(input)?.toISOString()}`);
    });
  }
});
