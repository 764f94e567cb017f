import { describe, expect, it } from 'vitest';
import { DEFAULT_CHECK_SCHEDULE, parseSchedule, ScheduleError } from '../../core/schedule';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const iso = (dates: readonly Date[]) => dates.map((d) => d.toISOString());
const at = (text: string) => new Date(text);
const between = (expression: string, from: string, until: string) => iso(parseSchedule(expression).between(at(from), at(until)));
/** The first `n` fire times strictly after `after`. */
function nextN(expression: string, after: string, n: number): string[] {
  const schedule = parseSchedule(expression);
  const out: string[] = [];
  let t: Date | undefined = at(after);
  while (out.length < n && (t = schedule.next(t))) out.push(t.toISOString());
  return out;
}
/** Whether the schedule fires exactly at `when` (a one-second window). */
const firesAt = (expression: string, when: string) => between(expression, when, new Date(at(when).getTime() + 1000).toISOString()).length === 1;
const errorOf = (expression: string) => {
  try {
    parseSchedule(expression);
  } catch (err) {
    expect(err).toBeInstanceOf(ScheduleError);
    return (err as Error).message;
  }
  throw new Error(`"${expression}" parsed`);
};

describe('parseSchedule', () => {
  it.each([
    ['@yearly', '2025-03-10T12:00:00Z', ['2026-01-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z']],
    ['@annually', '2025-03-10T12:00:00Z', ['2026-01-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z']],
    ['@monthly', '2025-01-15T00:00:00Z', ['2025-02-01T00:00:00.000Z', '2025-03-01T00:00:00.000Z']],
    // 2025-01-01 is a Wednesday; @weekly is Sunday midnight.
    ['@weekly', '2025-01-01T00:00:00Z', ['2025-01-05T00:00:00.000Z', '2025-01-12T00:00:00.000Z']],
    ['@daily', '2025-01-01T00:00:00Z', ['2025-01-02T00:00:00.000Z', '2025-01-03T00:00:00.000Z']],
    ['@midnight', '2025-01-01T00:00:00Z', ['2025-01-02T00:00:00.000Z', '2025-01-03T00:00:00.000Z']],
    ['@hourly', '2025-01-01T00:30:00Z', ['2025-01-01T01:00:00.000Z', '2025-01-01T02:00:00.000Z']],
  ])('%s fires as robfig defines it', (descriptor, after, expected) => {
    expect(nextN(descriptor, after, 2)).toEqual(expected);
  });

  it.each([
    ['@yearly', '0 0 0 1 1 *', '2027-01-01T00:00:00Z'],
    ['@monthly', '0 0 0 1 * *', '2024-06-01T00:00:00Z'],
    ['@weekly', '0 0 0 * * 0', '2024-03-01T00:00:00Z'],
    ['@daily', '0 0 0 * * *', '2024-01-10T00:00:00Z'],
    ['@hourly', '0 0 * * * *', '2024-01-02T00:00:00Z'],
  ])('%s is the same schedule as %s', (descriptor, fields, end) => {
    const from = at('2024-01-01T00:00:00Z');
    const until = at(end);
    const runs = parseSchedule(descriptor).between(from, until);
    expect(runs.length).toBeGreaterThan(1);
    expect(runs).toEqual(parseSchedule(fields).between(from, until));
  });

  it.each([
    // 5 fields: minute hour day-of-month month day-of-week, at second 0.
    ['0 2 * * *', '2025-01-01T00:00:00Z', ['2025-01-01T02:00:00.000Z', '2025-01-02T02:00:00.000Z']],
    ['15 * * * *', '2025-01-01T00:00:00Z', ['2025-01-01T00:15:00.000Z', '2025-01-01T01:15:00.000Z']],
    // 6 fields: seconds first.
    ['0 0 2 * * *', '2025-01-01T00:00:00Z', ['2025-01-01T02:00:00.000Z', '2025-01-02T02:00:00.000Z']],
    ['30 0 2 * * *', '2025-01-01T00:00:00Z', ['2025-01-01T02:00:30.000Z', '2025-01-02T02:00:30.000Z']],
    ['15 * * * * *', '2025-01-01T00:00:00Z', ['2025-01-01T00:00:15.000Z', '2025-01-01T00:01:15.000Z']],
  ])('reads %s with 5 or 6 fields', (expression, after, expected) => {
    expect(nextN(expression, after, 2)).toEqual(expected);
  });

  it.each([
    ['0 0 1 JAN *', ['2025-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z']],
    ['0 0 1 jan *', ['2025-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z']],
    ['0 0 1 Feb-Mar *', ['2025-02-01T00:00:00.000Z', '2025-03-01T00:00:00.000Z']],
    ['0 0 1 jun,DEC *', ['2025-06-01T00:00:00.000Z', '2025-12-01T00:00:00.000Z']],
    // 2025-01-01 is a Wednesday.
    ['0 0 * * MON', ['2025-01-06T00:00:00.000Z', '2025-01-13T00:00:00.000Z']],
    ['0 0 * * sat,Sun', ['2025-01-04T00:00:00.000Z', '2025-01-05T00:00:00.000Z']],
    ['0 0 * * THU-fri', ['2025-01-02T00:00:00.000Z', '2025-01-03T00:00:00.000Z']],
    ['0 0 * * 0', ['2025-01-05T00:00:00.000Z', '2025-01-12T00:00:00.000Z']],
  ])('understands month and weekday names in %s', (expression, expected) => {
    expect(nextN(expression, '2024-12-31T23:59:00Z', 2)).toEqual(expected);
  });

  it.each([
    ['*/15 * * * *', [0, 15, 30, 45]],
    ['1-30/5 * * * *', [1, 6, 11, 16, 21, 26]],
    // "N/step" means "N-max/step".
    ['5/20 * * * *', [5, 25, 45]],
    ['0-10/1 * * * *', [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]],
    ['0,10-12,*/30 * * * *', [0, 10, 11, 12, 30]],
  ])('steps %s', (expression, minutes) => {
    const runs = parseSchedule(expression).between(at('2025-01-01T05:00:00Z'), at('2025-01-01T06:00:00Z'));
    expect(runs.map((d) => d.getUTCMinutes())).toEqual(minutes);
  });

  const fieldOf = { hour: (d: Date) => d.getUTCHours(), day: (d: Date) => d.getUTCDate(), month: (d: Date) => d.getUTCMonth() + 1 };
  it.each([
    ['0 */6 * * *', 'hour', [0, 6, 12, 18]],
    ['0 0 1/10 * *', 'day', [1, 11, 21, 31]],
    ['0 0 1 */4 *', 'month', [1, 5, 9]],
  ] as const)('steps %s in the %s field', (expression, field, values) => {
    const runs = parseSchedule(expression).between(at('2025-01-01T00:00:00Z'), at('2026-01-01T00:00:00Z'));
    expect([...new Set(runs.map(fieldOf[field]))]).toEqual(values);
  });

  it.each([
    ['0 0 ? * MON', '0 0 * * MON', '2025-03-01T00:00:00Z'],
    ['0 0 1 * ?', '0 0 1 * *', '2025-03-01T00:00:00Z'],
    ['? ? * * *', '* * * * *', '2025-01-01T03:00:00Z'],
    ['0 ? 0 ? * ?', '0 * 0 * * *', '2025-01-03T00:00:00Z'],
  ])('reads ? in %s as * (%s)', (withQuestion, withStar, end) => {
    const from = at('2025-01-01T00:00:00Z');
    const until = at(end);
    const runs = parseSchedule(withQuestion).between(from, until);
    expect(runs.length).toBeGreaterThan(1);
    expect(runs).toEqual(parseSchedule(withStar).between(from, until));
  });

  // Day of month against day of week, at midnight, by robfig/cron v2's rule (Stash 0.5 to 0.8).
  it.each([
    // Neither is a star: either may match.
    ['0 0 1,15 * SUN', '2012-07-15T00:00:00Z', true], // Sunday the 15th
    ['0 0 1,15 * SUN', '2012-06-15T00:00:00Z', true], // Friday the 15th
    ['0 0 1,15 * SUN', '2012-08-01T00:00:00Z', true], // Wednesday the 1st
    ['0 0 1,15 * SUN', '2012-07-16T00:00:00Z', false], // Monday the 16th
    ['0 0 1-31 * SUN', '2012-07-16T00:00:00Z', true], // a full range is no star: every day
    ['0 0 1 * 0-6', '2012-07-16T00:00:00Z', true],
    // A stepped star is a star in v2 (v3 changed this, robfig issue #70): both must match.
    ['0 0 */10 * SUN', '2012-07-15T00:00:00Z', false], // Sunday, not in 1,11,21,31
    ['0 0 */10 * SUN', '2012-07-11T00:00:00Z', false], // Wednesday the 11th
    ['0 0 */10 * SUN', '2012-07-01T00:00:00Z', true], // Sunday the 1st
    ['0 0 ?/10 * SUN', '2012-07-01T00:00:00Z', true],
    ['0 0 ?/10 * SUN', '2012-07-15T00:00:00Z', false],
    ['0 0 1 * */2', '2012-07-01T00:00:00Z', true], // Sunday (0) the 1st
    ['0 0 1 * */2', '2012-08-01T00:00:00Z', false], // Wednesday (3) is not in 0,2,4,6 ...
    ['0 0 1 * */3', '2012-08-01T00:00:00Z', true], // ... but in 0,3,6
    ['0 0 1 * */3', '2012-06-01T00:00:00Z', false], // Friday (5) the 1st
    // So is a star in a list.
    ['0 0 1,*/5 * MON', '2012-07-16T00:00:00Z', true], // Monday the 16th: in 1,6,11,16,...
    ['0 0 1,*/5 * MON', '2012-07-09T00:00:00Z', false], // Monday the 9th
    // One is a star (also ?): both must match.
    ['0 0 * * MON', '2012-07-15T00:00:00Z', false],
    ['0 0 ? * MON', '2012-07-16T00:00:00Z', true],
    ['0 0 */1 * SUN', '2012-07-16T00:00:00Z', false],
    ['0 0 1,15 * *', '2012-07-09T00:00:00Z', false],
    ['0 0 1,15 * *', '2012-07-15T00:00:00Z', true],
    ['0 0 1,15 * ?', '2012-07-16T00:00:00Z', false],
    ['0 0 */2 * SUN', '2012-07-15T00:00:00Z', true], // Sunday the 15th
    ['0 0 */2 * SUN', '2012-07-14T00:00:00Z', false], // Saturday the 14th: neither
    ['0 0 */2 * SUN', '2012-07-13T00:00:00Z', false], // Friday the 13th: odd, but no Sunday
  ])('%s on %s fires: %s', (expression, when, fires) => {
    expect(firesAt(expression, when)).toBe(fires);
  });

  it("runs a stepped day of month with a weekday only where both match, as Stash's scheduler did", () => {
    // January 2026: days 1, 4, ..., 31 (a star stepped by 3) and Mondays 5, 12, 19, 26 meet on the 19th
    // alone. robfig/cron v3 and Vixie cron, where a stepped star is no star, would run on 14 days.
    const runs = parseSchedule('0 0 */3 * 1').between(at('2026-01-01T00:00:00Z'), at('2026-02-01T00:00:00Z'));
    expect(iso(runs)).toEqual(['2026-01-19T00:00:00.000Z']);
  });

  it("checks at Stash's check schedule by default: midnight on days 1, 4, ..., 31", () => {
    expect(DEFAULT_CHECK_SCHEDULE).toBe('0 0 */3 * *');
    const days = parseSchedule(DEFAULT_CHECK_SCHEDULE).between(at('2026-01-01T00:00:00Z'), at('2026-03-02T00:00:00Z'));
    expect(iso(days)).toEqual([
      ...[1, 4, 7, 10, 13, 16, 19, 22, 25, 28, 31].map((d) => `2026-01-${String(d).padStart(2, '0')}T00:00:00.000Z`),
      ...[1, 4, 7, 10, 13, 16, 19, 22, 25, 28].map((d) => `2026-02-${String(d).padStart(2, '0')}T00:00:00.000Z`),
      '2026-03-01T00:00:00.000Z',
    ]);
  });

  describe('@every', () => {
    it.each([
      ['@every 1h30m', '1970-01-01T00:00:00Z', ['1970-01-01T00:00:00.000Z', '1970-01-01T01:30:00.000Z', '1970-01-01T03:00:00.000Z']],
      // 2025-06-01T00:00Z is 323,840 times 1h30m after the epoch.
      ['@every 1h30m', '2025-06-01T00:00:00Z', ['2025-06-01T00:00:00.000Z', '2025-06-01T01:30:00.000Z', '2025-06-01T03:00:00.000Z']],
      // 2025-06-01T00:00Z is minute 29,145,600 since the epoch, 1 past a multiple of 7.
      ['@every 7m', '2025-06-01T00:00:00Z', ['2025-06-01T00:06:00.000Z', '2025-06-01T00:13:00.000Z', '2025-06-01T00:20:00.000Z']],
      // Day 20,240 since the epoch is 2 past a multiple of 3.
      ['@every 72h', '2025-06-01T00:00:00Z', ['2025-06-02T00:00:00.000Z', '2025-06-05T00:00:00.000Z', '2025-06-08T00:00:00.000Z']],
      ['@every 1.5h', '1970-01-01T00:00:00Z', ['1970-01-01T00:00:00.000Z', '1970-01-01T01:30:00.000Z', '1970-01-01T03:00:00.000Z']],
      // Rounded down to whole seconds, as robfig does.
      ['@every 90.9s', '1970-01-01T00:00:00Z', ['1970-01-01T00:00:00.000Z', '1970-01-01T00:01:30.000Z', '1970-01-01T00:03:00.000Z']],
      // The zone does not move multiples of the epoch.
      ['TZ=Asia/Kathmandu @every 1h', '2025-06-01T00:00:00Z', ['2025-06-01T00:00:00.000Z', '2025-06-01T01:00:00.000Z', '2025-06-01T02:00:00.000Z']],
    ])('%s fires at multiples of the duration since the epoch, from %s', (expression, from, expected) => {
      const schedule = parseSchedule(expression);
      expect(iso(schedule.between(at(from), new Date(at(expected[2]).getTime() + 1)))).toEqual(expected);
      expect(schedule.next(at(from))?.toISOString()).toBe(expected.find((e) => at(e) > at(from)));
    });

    it('is stateless: the same slots however the time is cut into windows', () => {
      const schedule = parseSchedule('@every 7m');
      const start = at('2025-06-01T00:00:00Z').getTime();
      const cuts = [0, 17, 60, 61, 119, 120].map((m) => new Date(start + m * MINUTE));
      const pieces = cuts.slice(1).map((until, i) => schedule.between(cuts[i], until));
      const whole = schedule.between(cuts[0], cuts[cuts.length - 1]);
      expect(whole).toHaveLength(17);
      expect(pieces.flat()).toEqual(whole);
    });
  });

  describe('time zones', () => {
    it.each([
      ['TZ=Europe/Berlin 0 2 * * *', '2025-01-15T00:00:00Z', '2025-01-15T01:00:00.000Z'], // CET, UTC+1
      ['TZ=Europe/Berlin 0 2 * * *', '2025-07-15T00:00:00Z', '2025-07-16T00:00:00.000Z'], // CEST, UTC+2
      ['CRON_TZ=America/New_York 0 2 * * *', '2025-01-15T00:00:00Z', '2025-01-15T07:00:00.000Z'],
      ['TZ=Asia/Kathmandu 0 0 * * *', '2025-01-15T00:00:00Z', '2025-01-15T18:15:00.000Z'], // UTC+5:45
      ['TZ=Asia/Tokyo @daily', '2025-01-15T00:00:00Z', '2025-01-15T15:00:00.000Z'],
      ['TZ=UTC 0 2 * * *', '2025-01-15T00:00:00Z', '2025-01-15T02:00:00.000Z'],
      ['0 2 * * *', '2025-01-15T00:00:00Z', '2025-01-15T02:00:00.000Z'], // UTC without a prefix
      ['TZ=Etc/GMT-3 0 2 * * *', '2025-01-15T00:00:00Z', '2025-01-15T23:00:00.000Z'],
    ])('%s after %s fires at %s', (expression, after, expected) => {
      expect(nextN(expression, after, 1)).toEqual([expected]);
    });

    it('keeps the expression as written', () => {
      expect(parseSchedule('TZ=Europe/Berlin   0 2 * * *').expression).toBe('TZ=Europe/Berlin   0 2 * * *');
    });
  });

  // robfig: a wall-clock time inside the spring-forward gap does not happen that day; one in the
  // repeated hour of the fall-back day happens twice. Times outside the change are unaffected.
  describe('daylight saving time', () => {
    it.each([
      // Europe/Berlin, 2025-03-30: 02:00 CET jumps to 03:00 CEST.
      ['TZ=Europe/Berlin 30 2 * * *', '2025-03-29T00:00:00Z', '2025-04-01T00:00:00Z', ['2025-03-29T01:30:00.000Z', '2025-03-31T00:30:00.000Z']],
      ['TZ=Europe/Berlin 30 1 * * *', '2025-03-29T00:00:00Z', '2025-04-01T00:00:00Z', ['2025-03-29T00:30:00.000Z', '2025-03-30T00:30:00.000Z', '2025-03-30T23:30:00.000Z', '2025-03-31T23:30:00.000Z']],
      // Europe/Berlin, 2025-10-26: 03:00 CEST falls back to 02:00 CET.
      ['TZ=Europe/Berlin 30 2 * * *', '2025-10-25T00:00:00Z', '2025-10-28T00:00:00Z', ['2025-10-25T00:30:00.000Z', '2025-10-26T00:30:00.000Z', '2025-10-26T01:30:00.000Z', '2025-10-27T01:30:00.000Z']],
      ['TZ=Europe/Berlin 30 1 * * *', '2025-10-25T00:00:00Z', '2025-10-28T00:00:00Z', ['2025-10-25T23:30:00.000Z', '2025-10-27T00:30:00.000Z']],
      // America/New_York, 2025-03-09: 02:00 EST jumps to 03:00 EDT.
      ['TZ=America/New_York 30 2 * * *', '2025-03-08T00:00:00Z', '2025-03-11T00:00:00Z', ['2025-03-08T07:30:00.000Z', '2025-03-10T06:30:00.000Z']],
      ['TZ=America/New_York 30 1 * * *', '2025-03-08T00:00:00Z', '2025-03-11T00:00:00Z', ['2025-03-08T06:30:00.000Z', '2025-03-09T06:30:00.000Z', '2025-03-10T05:30:00.000Z']],
      // America/New_York, 2025-11-02: 02:00 EDT falls back to 01:00 EST.
      ['TZ=America/New_York 30 1 * * *', '2025-11-01T00:00:00Z', '2025-11-04T00:00:00Z', ['2025-11-01T05:30:00.000Z', '2025-11-02T05:30:00.000Z', '2025-11-02T06:30:00.000Z', '2025-11-03T06:30:00.000Z']],
      ['TZ=America/New_York 30 2 * * *', '2025-11-01T00:00:00Z', '2025-11-04T00:00:00Z', ['2025-11-01T06:30:00.000Z', '2025-11-02T07:30:00.000Z', '2025-11-03T07:30:00.000Z']],
      // Every half hour runs through both passes of the repeated hour: 00:00 EDT to 01:30 EST.
      ['TZ=America/New_York */30 * * * *', '2025-11-02T04:00:00Z', '2025-11-02T07:00:00Z', ['2025-11-02T04:00:00.000Z', '2025-11-02T04:30:00.000Z', '2025-11-02T05:00:00.000Z', '2025-11-02T05:30:00.000Z', '2025-11-02T06:00:00.000Z', '2025-11-02T06:30:00.000Z']],
      // ...and skips the gap: 01:30 EST, then 03:00 EDT.
      ['TZ=America/New_York */30 * * * *', '2025-03-09T06:30:00Z', '2025-03-09T07:31:00Z', ['2025-03-09T06:30:00.000Z', '2025-03-09T07:00:00.000Z', '2025-03-09T07:30:00.000Z']],
    ])('%s from %s until %s', (expression, from, until, expected) => {
      expect(between(expression, from, until)).toEqual(expected);
    });

    // robfig/cron spec_test.go TestNext, daylight saving cases (America/New_York).
    it.each([
      ['TZ=America/New_York 0 30 2 11 Mar ?', '2012-03-11T05:00:00Z', '2013-03-11T06:30:00.000Z'], // 02:30 does not exist in 2012
      ['TZ=America/New_York 0 30 2 04 Nov ?', '2012-11-04T04:00:00Z', '2012-11-04T07:30:00.000Z'],
      ['TZ=America/New_York 0 30 1 04 Nov ?', '2012-11-04T05:45:00Z', '2012-11-04T06:30:00.000Z'], // 01:30 EST, the second 01:30
    ])('%s after %s fires at %s, as in robfig', (expression, after, expected) => {
      expect(nextN(expression, after, 1)).toEqual([expected]);
    });

    // Short windows are checked minute by minute, long ones through croner: both must agree,
    // also where the offset changes by 30 minutes (Lord Howe) or at midnight (Sao Paulo, 2018).
    it.each([
      ['TZ=Europe/Berlin', '2025-10-25T22:00:00Z'],
      ['TZ=America/New_York', '2025-03-09T04:00:00Z'],
      ['TZ=Australia/Lord_Howe', '2025-10-04T13:00:00Z'],
      ['TZ=America/Sao_Paulo', '2018-11-04T00:00:00Z'],
    ])('short and long windows agree across the change in %s', (zone, start) => {
      for (const fields of ['*/10 * * * *', '30 2 * * *', '0,30 0-3 * * *', '0 0 * * *']) {
        const schedule = parseSchedule(`${zone} ${fields}`);
        const from = at(start).getTime();
        const until = from + 8 * HOUR;
        const short: Date[] = [];
        for (let t = from; t < until; t += 7 * MINUTE) short.push(...schedule.between(new Date(t), new Date(Math.min(t + 7 * MINUTE, until))));
        expect(iso(short)).toEqual(iso(schedule.between(new Date(from), new Date(until))));
      }
    });
  });

  describe('refuses', () => {
    const tooFast = 'the minimum interval is one minute (the scheduler ticks once a minute)';
    it.each([
      ['@every 30s', `invalid schedule "@every 30s": it would fire every 30s, more often than once a minute; ${tooFast}`],
      ['@every 59.9s', `invalid schedule "@every 59.9s": it would fire every 59s, more often than once a minute; ${tooFast}`],
      ['@every 0.5s', `invalid schedule "@every 0.5s": "0.5s" is not a positive duration; ${tooFast}`],
      ['@every -1h', `invalid schedule "@every -1h": "-1h" is not a positive duration; ${tooFast}`],
      ['*/30 * * * * *', `invalid schedule "*/30 * * * * *": the second field "*/30" fires more than once a minute; ${tooFast}, so give the second field a single value such as 0`],
      ['* * * * * *', `invalid schedule "* * * * * *": the second field "*" fires more than once a minute; ${tooFast}, so give the second field a single value such as 0`],
      ['0,30 * * * * *', `invalid schedule "0,30 * * * * *": the second field "0,30" fires more than once a minute; ${tooFast}, so give the second field a single value such as 0`],
    ])('%s, faster than once a minute', (expression, message) => {
      expect(errorOf(expression)).toBe(message);
    });

    const tooSlow = 'a schedule must run at least once a year';
    it.each([
      ['@every 8785h', `invalid schedule "@every 8785h": it would run every 8785h, more than 366 days apart; ${tooSlow}`],
      ['@every 9999999999999999h', `invalid schedule "@every 9999999999999999h": it would run every 9999999999999999h, more than 366 days apart; ${tooSlow}`],
      // Leap days: 4 years apart, 8 across 2100.
      ['0 0 29 2 *', `invalid schedule "0 0 29 2 *": its runs can be 2921 days apart, more than 366; ${tooSlow}`],
      ['0 0 29 FEB ?', `invalid schedule "0 0 29 FEB ?": its runs can be 2921 days apart, more than 366; ${tooSlow}`],
      // Leap days that are also a Sunday, Tuesday, Thursday or Saturday (a stepped star is a star: both must match).
      ['0 0 29 2 */2', `invalid schedule "0 0 29 2 */2": its runs can be 10226 days apart, more than 366; ${tooSlow}`],
      // Mondays that are January 1st, 16th or 31st.
      ['0 0 */15 1 MON', `invalid schedule "0 0 */15 1 MON": its runs can be 1855 days apart, more than 366; ${tooSlow}`],
    ])('%s, less often than once a year', (expression, message) => {
      expect(errorOf(expression)).toBe(message);
    });

    it.each([
      ['@every 8784h', 366 * DAY],
      ['@yearly', 365 * DAY],
      ['0 0 29 2 MON', DAY], // day of month and day of week both restricted: either, so every Monday in February too
      ['0 0 */2 1 MON', 14 * DAY], // Mondays that are odd days of January: every January has two or three
      ['0 0 ? JAN MON', 7 * DAY], // the Mondays of January
    ])('allows %s, at least once a year', (expression, interval) => {
      expect(parseSchedule(expression).minIntervalMs).toBe(interval);
    });

    it.each([
      ['@every 1m', MINUTE],
      ['@every 60s', MINUTE],
      ['* * * * *', MINUTE],
      ['30 * * * * *', MINUTE],
      ['0 */1 * * * *', MINUTE],
    ])('allows %s, once a minute', (expression, interval) => {
      expect(parseSchedule(expression).minIntervalMs).toBe(interval);
    });

    it.each([
      ['', 'invalid schedule "": it is empty; write 5 cron fields such as "0 2 * * *", or a descriptor such as "@daily" or "@every 24h"'],
      ['   ', 'invalid schedule "   ": it is empty; write 5 cron fields such as "0 2 * * *", or a descriptor such as "@daily" or "@every 24h"'],
      ['every day', 'invalid schedule "every day": expected 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first, found 2'],
      ['0 0 * * * * *', 'invalid schedule "0 0 * * * * *": expected 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first, found 7'],
      ['61 * * * *', 'invalid schedule "61 * * * *": minute field "61": 61 is above the maximum 59'],
      ['0 24 * * *', 'invalid schedule "0 24 * * *": hour field "24": 24 is above the maximum 23'],
      ['0 0 0 * *', 'invalid schedule "0 0 0 * *": day-of-month field "0": 0 is below the minimum 1'],
      ['0 0 * 13 *', 'invalid schedule "0 0 * 13 *": month field "13": 13 is above the maximum 12'],
      ['0 0 * * 7', 'invalid schedule "0 0 * * 7": day-of-week field "7": 7 is above the maximum 6 (Sunday is 0 or SUN)'],
      ['0 0 * * 1-7', 'invalid schedule "0 0 * * 1-7": day-of-week field "1-7": 7 is above the maximum 6 (Sunday is 0 or SUN)'],
      ['0 0 * * MONDAY', 'invalid schedule "0 0 * * MONDAY": day-of-week field "MONDAY": "MONDAY" is not a number or a weekday name (SUN-SAT)'],
      ['0 0 1 FOO *', 'invalid schedule "0 0 1 FOO *": month field "FOO": "FOO" is not a number or a month name (JAN-DEC)'],
      ['0 MON * * *', 'invalid schedule "0 MON * * *": hour field "MON": "MON" is not a number'],
      ['-1 * * * *', 'invalid schedule "-1 * * * *": minute field "-1": "-1" is not a value, a range a-b, or a step */n, a-b/n or a/n'],
      ['1- * * * *', 'invalid schedule "1- * * * *": minute field "1-": "1-" is not a value, a range a-b, or a step */n, a-b/n or a/n'],
      ['5-1 * * * *', 'invalid schedule "5-1 * * * *": minute field "5-1": the range 5-1 starts after it ends'],
      ['*/0 * * * *', 'invalid schedule "*/0 * * * *": minute field "*/0": the step "0" must be a positive whole number'],
      ['*/x * * * *', 'invalid schedule "*/x * * * *": minute field "*/x": the step "x" must be a positive whole number'],
      ['1/2/3 * * * *', 'invalid schedule "1/2/3 * * * *": minute field "1/2/3": "1/2/3" is not a value, a range a-b, or a step */n, a-b/n or a/n'],
      ['1-2-3 * * * *', 'invalid schedule "1-2-3 * * * *": minute field "1-2-3": "1-2-3" is not a value, a range a-b, or a step */n, a-b/n or a/n'],
      ['*-5 * * * *', 'invalid schedule "*-5 * * * *": minute field "*-5": "*-5" is not a value, a range a-b, or a step */n, a-b/n or a/n'],
      ['1,,2 * * * *', 'invalid schedule "1,,2 * * * *": minute field "1,,2": it has an empty list item'],
      ['0 0 30 2 *', 'invalid schedule "0 0 30 2 *": it never fires: no month it allows has a day of the month it allows'],
      ['0 0 31 APR,JUN ?', 'invalid schedule "0 0 31 APR,JUN ?": it never fires: no month it allows has a day of the month it allows'],
      ['@reboot', 'invalid schedule "@reboot": unknown descriptor "@reboot": use one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly or @every <duration>'],
      ['@Daily', 'invalid schedule "@Daily": unknown descriptor "@Daily": use one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly or @every <duration>'],
      ['@every', 'invalid schedule "@every": "@every" is not "@every <duration>"; write e.g. "@every 24h"'],
      ['@every 1 day', 'invalid schedule "@every 1 day": "1 day" is not a duration; write it as Go does, e.g. 90m, 1h30m or 72h'],
      ['TZ=Mars/Olympus 0 2 * * *', 'invalid schedule "TZ=Mars/Olympus 0 2 * * *": unknown time zone "Mars/Olympus": use an IANA name such as Europe/Berlin, America/New_York or UTC'],
      ['CRON_TZ=Local 0 2 * * *', 'invalid schedule "CRON_TZ=Local 0 2 * * *": unknown time zone "Local": use an IANA name such as Europe/Berlin, America/New_York or UTC'],
      ['TZ= 0 2 * * *', 'invalid schedule "TZ= 0 2 * * *": TZ= needs a time zone, e.g. "TZ=Europe/Berlin 0 2 * * *"'],
      ['TZ=Europe/Berlin', 'invalid schedule "TZ=Europe/Berlin": nothing follows TZ=Europe/Berlin; add the schedule after a space, e.g. "TZ=Europe/Berlin 0 2 * * *"'],
    ])('%j with a message the user can act on', (expression, message) => {
      expect(errorOf(expression)).toBe(message);
    });
  });

  describe('between', () => {
    it('includes a run exactly at from and excludes one exactly at until', () => {
      expect(between('0 * * * *', '2025-01-01T01:00:00Z', '2025-01-01T03:00:00Z')).toEqual(['2025-01-01T01:00:00.000Z', '2025-01-01T02:00:00.000Z']);
      expect(between('@every 1h', '2025-01-01T01:00:00Z', '2025-01-01T03:00:00Z')).toEqual(['2025-01-01T01:00:00.000Z', '2025-01-01T02:00:00.000Z']);
      expect(between('0 * * * *', '2025-01-01T01:00:00.001Z', '2025-01-01T03:00:00.001Z')).toEqual(['2025-01-01T02:00:00.000Z', '2025-01-01T03:00:00.000Z']);
    });

    it.each([
      ['* * * * *', '2025-01-01T00:00:00Z', '2025-01-01T00:01:00Z', ['2025-01-01T00:00:00.000Z']],
      ['* * * * *', '2025-01-01T00:00:30Z', '2025-01-01T00:01:30Z', ['2025-01-01T00:01:00.000Z']],
      ['0 2 * * *', '2025-01-01T02:00:00Z', '2025-01-01T02:01:00Z', ['2025-01-01T02:00:00.000Z']],
      ['0 2 * * *', '2025-01-01T02:01:00Z', '2025-01-01T02:02:00Z', []],
      ['30 0 2 * * *', '2025-01-01T02:00:00Z', '2025-01-01T02:01:00Z', ['2025-01-01T02:00:30.000Z']],
      ['0 2 * * *', '2025-01-01T02:00:00Z', '2025-01-01T02:00:00Z', []],
      ['0 2 * * *', '2025-01-02T02:00:00Z', '2025-01-01T02:00:00Z', []],
      ['TZ=Europe/Berlin 0 3 * * *', '2025-01-01T02:00:00Z', '2025-01-01T02:01:00Z', ['2025-01-01T02:00:00.000Z']],
    ])('%s in [%s, %s)', (expression, from, until, expected) => {
      expect(between(expression, from, until)).toEqual(expected);
    });

    it('refuses a window with more runs than the limit', () => {
      expect(() => parseSchedule('@every 1m').between(at('2024-01-01T00:00:00Z'), at('2025-01-01T00:00:00Z'))).toThrow(
        new ScheduleError('schedule "@every 1m" fires more than 100000 times from 2024-01-01T00:00:00.000Z until 2025-01-01T00:00:00.000Z; ask for a shorter window'),
      );
      expect(parseSchedule('@every 1m').between(at('2024-01-01T00:00:00Z'), new Date(at('2024-01-01T00:00:00Z').getTime() + 100_000 * MINUTE))).toHaveLength(100_000);
      expect(() => parseSchedule('@every 1m').between(at('2024-01-01T00:00:00Z'), at('2024-01-01T00:11:00Z'), 10)).toThrow(
        'schedule "@every 1m" fires more than 10 times from 2024-01-01T00:00:00.000Z until 2024-01-01T00:11:00.000Z; ask for a shorter window',
      );
      expect(() => parseSchedule('*/5 * * * *').between(at('2024-01-01T00:00:00Z'), at('2024-01-01T01:00:00Z'), 11)).toThrow('fires more than 11 times');
      expect(parseSchedule('@every 1m').between(at('2024-01-01T00:00:00Z'), at('2024-01-01T00:10:00Z'), 10)).toHaveLength(10);
      expect(parseSchedule('*/5 * * * *').between(at('2024-01-01T00:00:00Z'), at('2024-01-01T01:00:00Z'), 12)).toHaveLength(12);
    });
  });

  describe('next', () => {
    it.each([
      ['0 2 * * *', '2025-01-01T02:00:00Z', '2025-01-02T02:00:00.000Z'],
      ['0 2 * * *', '2025-01-01T01:59:59.999Z', '2025-01-01T02:00:00.000Z'],
      ['0 2 * * *', '2025-01-01T02:00:00.001Z', '2025-01-02T02:00:00.000Z'],
      ['@every 1h', '2025-01-01T02:00:00Z', '2025-01-01T03:00:00.000Z'],
      ['@every 1h', '2025-01-01T01:59:59.999Z', '2025-01-01T02:00:00.000Z'],
      ['@yearly', '2025-01-01T00:00:00Z', '2026-01-01T00:00:00.000Z'],
    ])('%s after %s is %s (strictly after)', (expression, after, expected) => {
      expect(nextN(expression, after, 1)).toEqual([expected]);
    });
  });

  it.each([
    ['* * * * *', MINUTE],
    ['*/15 * * * *', 15 * MINUTE],
    ['0,50 * * * *', 10 * MINUTE], // 00:50 to 01:00
    ['@hourly', HOUR],
    ['0 9-17 * * MON-FRI', HOUR],
    ['@daily', DAY],
    ['0 0 1,15 * SUN', DAY], // a Sunday the 14th, then the 15th
    ['@weekly', 7 * DAY],
    ['@monthly', 28 * DAY],
    ['@yearly', 365 * DAY],
    ['0 23 * * *', DAY],
    ['0 22,23 * * FRI,SAT', HOUR],
    ['0 23 * * 5 ', DAY * 7],
    ['@every 90m', 90 * MINUTE],
    [DEFAULT_CHECK_SCHEDULE, DAY], // the 31st, then the 1st
  ])('the shortest interval of %j is %d ms', (expression, interval) => {
    expect(parseSchedule(expression).minIntervalMs).toBe(interval);
  });

  it('parses each expression once', () => {
    expect(parseSchedule('TZ=Europe/Berlin 0 2 * * *')).toBe(parseSchedule('TZ=Europe/Berlin 0 2 * * *'));
  });
});
