/**
 * `spec.schedule` as Stash 0.5 to 0.8 read it: the cron library it vendored (robfig/cron's v2
 * branch, in appscode's fork), evaluated with croner.
 *
 * What a schedule may be, as in Stash:
 * - 5 fields `minute hour day-of-month month day-of-week`, or 6 with seconds first. Each field is
 *   a comma-separated list of `*`, `?` (the same as `*`), a value, a range `a-b`, and steps: a
 *   star, a range or a value followed by `/n` (`a/n` means `a-max/n`). Months `JAN`-`DEC` and
 *   weekdays `SUN`-`SAT` by name, in any case; weekdays are 0-6 with Sunday 0 (7 is not a
 *   weekday). A step of 0 is refused (it hung Stash's parser).
 * - Day of month and day of week: when either field has an item that starts with `*` or `?`,
 *   stepped or not (`*`, `?`, a star stepped by 3), a day must match both; only when both are
 *   restricted does it match if either does. So a day of month of a star stepped by 3 with a
 *   day of week of 1 runs only on Mondays that are the 1st, 4th, ..., 31st (robfig/cron v3 and
 *   Vixie cron would run on all of those days and on every Monday).
 * - `@yearly`/`@annually`, `@monthly`, `@weekly`, `@daily`/`@midnight`, `@hourly`, as robfig
 *   defines them (`0 0 0 1 1 *`, `0 0 0 1 * *`, `0 0 0 * * 0`, `0 0 0 * * *`, `0 0 * * * *`).
 * - `@every <Go duration>`, rounded down to whole seconds as robfig does.
 * - A `TZ=<IANA zone> ` prefix; without one, UTC (Stash used its container's zone, UTC in
 *   its images; on AWS the machine's zone is UTC too).
 *
 * What this project adds or does differently (docs/stash-compatibility.md):
 * - `CRON_TZ=<IANA zone> ` works as `TZ=` does (robfig/cron v3's spelling).
 * - `@every` fires at every multiple of the duration since the Unix epoch
 *   (1970-01-01T00:00:00Z), where Stash counted from when its sidecar registered the
 *   schedule: stateless, so every tick, retry and machine agrees on the slots. `@every 1h30m`
 *   fires at 00:00, 01:30, 03:00... UTC. `@every` ignores the zone.
 * - Nothing may fire more than once a minute: the scheduler ticks once a minute. `@every 1m`
 *   and `* * * * *` are the fastest schedules; a seconds field must hold a single value.
 * - Nothing may wait more than a year (366 days) between runs: `0 0 29 2 *` (leap days, 4 and
 *   across 2100 8 years apart) and `@every 9000h` are refused, since a spec that seems scheduled
 *   would in practice never back up.
 *
 * Daylight saving time, as robfig/cron: a schedule fires at every instant whose wall-clock
 * time in its zone matches. So on the spring-forward day a time inside the gap never happens
 * (`30 2 * * *` in Europe/Berlin does not run on the last Sunday of March), and on the
 * fall-back day a time in the repeated hour happens twice (`30 1 * * *` in America/New_York
 * runs at 01:30 EDT and again at 01:30 EST). croner would run "fixed-time" jobs such as
 * `30 2 * * *` once after the gap and once in a repeated hour (as Vixie cron); we ask croner
 * for its interval-job rules instead, which are robfig's.
 */
import { Cron, type CronOptions } from 'croner';
import { formatGoDuration, parseGoDuration } from './duration';
import { StashError } from './errors';

/** A schedule that cannot be used; the message names the expression and says what to change. */
export class ScheduleError extends StashError {}

/** A parsed `spec.schedule` (or `spec.check.schedule`). */
export interface Schedule {
  /** The expression as written, e.g. 'TZ=Europe/Berlin 0 2 * * *'. */
  readonly expression: string;
  /** The first fire time strictly after `after`, or undefined if it never fires again. */
  next(after: Date): Date | undefined;
  /** Every fire time t with from <= t < until, ascending. Throws ScheduleError if more than `limit` (default 100000). */
  between(from: Date, until: Date, limit?: number): Date[];
  /**
   * The shortest gap between two consecutive fire times, in ms (for '@every d' exactly d).
   * Measured on the schedule's wall clock: a DST change can make one real gap up to an hour
   * shorter or longer (see the module comment).
   */
  readonly minIntervalMs: number;
}

/**
 * When `restic check` runs unless `spec.check.schedule` says otherwise: Stash's own check
 * schedule (0.6 to 0.8), midnight on days 1, 4, 7, ..., 31 of every month (UTC).
 */
export const DEFAULT_CHECK_SCHEDULE = '0 0 */3 * *';

const SECOND_MS = 1000;
const MINUTE_MS = 60_000;
const DAY_S = 86_400;
const DEFAULT_LIMIT = 100_000;
const TOO_FAST = 'the minimum interval is one minute (the scheduler ticks once a minute)';
/** The longest wait allowed between two runs: a leap year. */
export const MAX_INTERVAL_DAYS = 366;
const TOO_SLOW = 'a schedule must run at least once a year';

/**
 * Parses a schedule; throws ScheduleError with a user-facing message (no stack noise) when
 * invalid or faster than once a minute. Memoised by expression string.
 *
 * @example
 * parseSchedule('TZ=Europe/Berlin 30 2 * * *').between(from, until); // [02:30 Berlin time, if in the window]
 * parseSchedule('@every 30s'); // throws ScheduleError: invalid schedule "@every 30s": ... the minimum interval is one minute ...
 */
export function parseSchedule(expression: string): Schedule {
  const cached = schedules.get(expression);
  if (cached) return cached;
  let schedule: Schedule;
  try {
    schedule = build(expression);
  } catch (err) {
    if (err instanceof Invalid) throw new ScheduleError(`invalid schedule ${JSON.stringify(expression)}: ${err.reason}`);
    throw err;
  }
  // Bounded, so a long-lived process fed ever-new expressions cannot grow without limit.
  if (schedules.size >= MAX_SCHEDULES) schedules.clear();
  schedules.set(expression, schedule);
  return schedule;
}

const MAX_SCHEDULES = 20_000;
const schedules = new Map<string, Schedule>();

/** Why an expression is invalid; turned into a ScheduleError naming the expression. */
class Invalid {
  constructor(readonly reason: string) {}
}

function build(expression: string): Schedule {
  let rest = expression.trim();
  if (rest === '') {
    throw new Invalid('it is empty; write 5 cron fields such as "0 2 * * *", or a descriptor such as "@daily" or "@every 24h"');
  }
  let zone = 'UTC';
  const prefix = /^(CRON_TZ|TZ)=(\S*)\s*([^]*)$/.exec(rest);
  if (prefix) {
    const [, key, name, after] = prefix;
    if (name === '') throw new Invalid(`${key}= needs a time zone, e.g. "${key}=Europe/Berlin 0 2 * * *"`);
    const resolved = resolveZone(name);
    if (resolved === undefined) {
      throw new Invalid(`unknown time zone "${name}": use an IANA name such as Europe/Berlin, America/New_York or UTC`);
    }
    if (after === '') throw new Invalid(`nothing follows ${key}=${name}; add the schedule after a space, e.g. "${key}=${name} 0 2 * * *"`);
    zone = resolved;
    rest = after;
  }
  if (rest.startsWith('@every')) return everySchedule(expression, rest);
  if (rest.startsWith('@')) {
    const fields = DESCRIPTORS.get(rest);
    if (fields === undefined) {
      throw new Invalid(`unknown descriptor "${rest}": use one of ${[...DESCRIPTORS.keys()].join(', ')} or @every <duration>`);
    }
    return new CronSchedule(expression, parseFields(fields.split(' ')), zone);
  }
  const fields = rest.split(/\s+/);
  if (fields.length !== 5 && fields.length !== 6) {
    throw new Invalid(
      `expected 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first, found ${fields.length}`,
    );
  }
  return new CronSchedule(expression, parseFields(fields.length === 5 ? ['0', ...fields] : fields), zone);
}

/** robfig's descriptors, as the 6-field expressions it defines them as. */
const DESCRIPTORS = new Map([
  ['@yearly', '0 0 0 1 1 *'],
  ['@annually', '0 0 0 1 1 *'],
  ['@monthly', '0 0 0 1 * *'],
  ['@weekly', '0 0 0 * * 0'],
  ['@daily', '0 0 0 * * *'],
  ['@midnight', '0 0 0 * * *'],
  ['@hourly', '0 0 * * * *'],
]);

/** Canonical IANA names by the name as written; undefined for an unknown zone. */
const zones = new Map<string, string | undefined>();

function resolveZone(name: string): string | undefined {
  if (!zones.has(name)) {
    let resolved: string | undefined;
    try {
      resolved = new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
    } catch {
      resolved = undefined;
    }
    if (zones.size >= MAX_SCHEDULES) zones.clear();
    zones.set(name, resolved);
  }
  return zones.get(name);
}

// ---- @every ----------------------------------------------------------------------------------

function everySchedule(expression: string, descriptor: string): Schedule {
  const text = /^@every(?:\s+([^]*))?$/.exec(descriptor)?.[1];
  if (text === undefined) throw new Invalid(`"${descriptor}" is not "@every <duration>"; write e.g. "@every 24h"`);
  const parsed = parseGoDuration(text);
  if (parsed === undefined) throw new Invalid(`"${text}" is not a duration; write it as Go does, e.g. 90m, 1h30m or 72h`);
  const everyMs = Math.trunc(parsed / SECOND_MS) * SECOND_MS;
  if (everyMs <= 0) throw new Invalid(`"${text}" is not a positive duration; ${TOO_FAST}`);
  if (everyMs < MINUTE_MS) {
    throw new Invalid(`it would fire every ${formatGoDuration(everyMs)}, more often than once a minute; ${TOO_FAST}`);
  }
  if (everyMs > MAX_INTERVAL_DAYS * DAY_S * SECOND_MS) {
    throw new Invalid(`it would run every ${text}, more than ${MAX_INTERVAL_DAYS} days apart; ${TOO_SLOW}`);
  }
  return new EverySchedule(expression, everyMs);
}

/** Fires at every multiple of the interval since the Unix epoch. */
class EverySchedule implements Schedule {
  constructor(
    readonly expression: string,
    readonly minIntervalMs: number,
  ) {}

  next(after: Date): Date {
    return new Date((Math.floor(after.getTime() / this.minIntervalMs) + 1) * this.minIntervalMs);
  }

  between(from: Date, until: Date, limit = DEFAULT_LIMIT): Date[] {
    const every = this.minIntervalMs;
    const first = Math.ceil(from.getTime() / every) * every;
    const end = until.getTime();
    if (!(first < end)) return [];
    const count = Math.floor((end - 1 - first) / every) + 1;
    if (count > limit) throw tooMany(this.expression, from, until, limit);
    return Array.from({ length: count }, (_, i) => new Date(first + i * every));
  }
}

function tooMany(expression: string, from: Date, until: Date, limit: number): ScheduleError {
  return new ScheduleError(
    `schedule ${JSON.stringify(expression)} fires more than ${limit} times from ${from.toISOString()} until ${until.toISOString()}; ask for a shorter window`,
  );
}

// ---- cron fields -----------------------------------------------------------------------------

interface FieldRule {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: ReadonlyMap<string, number>;
  readonly namesHint?: string;
}

const monthNames = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const dayNames = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

const RULES: readonly FieldRule[] = [
  { name: 'second', min: 0, max: 59 },
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: new Map(monthNames.map((n, i) => [n, i + 1])), namesHint: 'a month name (JAN-DEC)' },
  { name: 'day-of-week', min: 0, max: 6, names: new Map(dayNames.map((n, i) => [n, i])), namesHint: 'a weekday name (SUN-SAT)' },
];

/** One field: which values it allows (indexed by value), and robfig's "star bit". */
interface Field {
  readonly values: readonly boolean[];
  /** The field has an item starting with `*` or `?`, stepped or not (robfig's "star bit"). */
  readonly star: boolean;
}

/** The six fields, seconds first, of a cron schedule that fires at most once a minute. */
interface Fields {
  readonly second: number;
  readonly minute: readonly boolean[];
  readonly hour: readonly boolean[];
  readonly dom: readonly boolean[];
  readonly month: readonly boolean[];
  readonly dow: readonly boolean[];
  /** Day of month and day of week must both match (either field is a star); else either. */
  readonly dayAnd: boolean;
}

function parseFields(texts: readonly string[]): Fields {
  const [second, minute, hour, dom, month, dow] = texts.map((text, i) => parseField(text, RULES[i]));
  const seconds = second.values.flatMap((on, v) => (on ? [v] : []));
  if (seconds.length > 1) {
    throw new Invalid(
      `the second field "${texts[0]}" fires more than once a minute; ${TOO_FAST}, so give the second field a single value such as 0`,
    );
  }
  const fields: Fields = {
    second: seconds[0],
    minute: minute.values,
    hour: hour.values,
    dom: dom.values,
    month: month.values,
    dow: dow.values,
    dayAnd: dom.star || dow.star,
  };
  if (!firesEver(fields)) throw new Invalid('it never fires: no month it allows has a day of the month it allows');
  const gap = maxDayGap(fields);
  if (gap > MAX_INTERVAL_DAYS) throw new Invalid(`its runs can be ${gap} days apart, more than ${MAX_INTERVAL_DAYS}; ${TOO_SLOW}`);
  return fields;
}

function parseField(text: string, rule: FieldRule): Field {
  const values = new Array<boolean>(rule.max + 1).fill(false);
  let star = false;
  for (const item of text.split(',')) {
    if (item === '') throw fieldInvalid(rule, text, 'it has an empty list item');
    const [range, step, ...more] = item.split('/');
    const parts = range.split('-');
    const wild = parts[0] === '*' || parts[0] === '?';
    if (more.length > 0 || parts.length > 2 || parts.includes('') || (wild && parts.length > 1)) {
      throw fieldInvalid(rule, text, `"${item}" is not a value, a range a-b, or a step */n, a-b/n or a/n`);
    }
    let by = 1;
    if (step !== undefined) {
      if (!/^\d+$/.test(step) || Number(step) === 0) throw fieldInvalid(rule, text, `the step "${step}" must be a positive whole number`);
      by = Number(step);
    }
    let start: number;
    let end: number;
    if (wild) {
      [start, end] = [rule.min, rule.max];
      star = true;
    } else {
      start = parseValue(parts[0], rule, text);
      // "a/n" means "a-max/n", as in robfig.
      end = parts.length === 2 ? parseValue(parts[1], rule, text) : step !== undefined ? rule.max : start;
      if (start < rule.min) throw fieldInvalid(rule, text, `${start} is below the minimum ${rule.min}`);
      if (end > rule.max) {
        throw fieldInvalid(rule, text, `${end} is above the maximum ${rule.max}${rule.name === 'day-of-week' && end === 7 ? ' (Sunday is 0 or SUN)' : ''}`);
      }
      if (start > end) throw fieldInvalid(rule, text, `the range ${range} starts after it ends`);
    }
    for (let v = start; v <= end; v += by) values[v] = true;
  }
  return { values, star };
}

function parseValue(token: string, rule: FieldRule, text: string): number {
  if (/^\d+$/.test(token)) return Number(token);
  const named = rule.names?.get(token.toLowerCase());
  if (named !== undefined) return named;
  throw fieldInvalid(rule, text, `"${token}" is not a number${rule.namesHint ? ` or ${rule.namesHint}` : ''}`);
}

function fieldInvalid(rule: FieldRule, text: string, why: string): Invalid {
  return new Invalid(`${rule.name} field "${text}": ${why}`);
}

/** Longest month lengths, leap years included (index = month). */
const MAX_DAYS = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function firesEver(f: Fields): boolean {
  // Every date falls on every weekday in some year, and a day-of-week list is never empty: only
  // "both must match" with no allowed day of month in any allowed month can never fire.
  return !f.dayAnd || f.month.some((on, m) => on && f.dom.some((d, day) => d && day <= MAX_DAYS[m]));
}

function dayMatches(f: Fields, day: number, month: number, weekday: number): boolean {
  if (!f.month[month]) return false;
  return f.dayAnd ? f.dom[day] && f.dow[weekday] : f.dom[day] || f.dow[weekday];
}

// ---- cron schedules ----------------------------------------------------------------------------

/**
 * Windows this short are checked minute by minute against the fields, on the zone's UTC offset,
 * without croner: a tick plans a one-minute window for every spec, and a croner instance costs
 * about 80 KB and tens of microseconds per search in a time zone.
 */
const FAST_WINDOW_MS = 30 * MINUTE_MS;
/** Every zone's UTC offset has been a whole number of minutes since Liberia's change in 1972. */
const FAST_SINCE_MS = Date.UTC(1973, 0, 1);

class CronSchedule implements Schedule {
  private minInterval: number | undefined;
  private pattern: string | undefined;

  constructor(
    readonly expression: string,
    private readonly fields: Fields,
    private readonly zone: string,
  ) {}

  next(after: Date): Date | undefined {
    return this.cron().nextRun(after) ?? undefined;
  }

  between(from: Date, until: Date, limit = DEFAULT_LIMIT): Date[] {
    const start = from.getTime();
    const end = until.getTime();
    if (!(start < end)) return [];
    const out = (end - start <= FAST_WINDOW_MS && start >= FAST_SINCE_MS && this.fastBetween(start, end)) || this.slowBetween(from, end, limit);
    if (out.length > limit) throw tooMany(this.expression, from, until, limit);
    return out;
  }

  get minIntervalMs(): number {
    return (this.minInterval ??= minIntervalMs(this.fields));
  }

  /** The fire times in a short window with one UTC offset throughout; undefined if it changes. */
  private fastBetween(start: number, end: number): Date[] | undefined {
    const offset = utcOffsetMs(this.zone, start);
    if (offset !== utcOffsetMs(this.zone, end - 1)) return undefined;
    const f = this.fields;
    const out: Date[] = [];
    // The first instant at or after start whose wall-clock second is f.second.
    const first = start + mod(f.second * SECOND_MS - offset - start, MINUTE_MS);
    for (let t = first; t < end; t += MINUTE_MS) {
      const wall = new Date(t + offset);
      if (
        f.minute[wall.getUTCMinutes()] &&
        f.hour[wall.getUTCHours()] &&
        dayMatches(f, wall.getUTCDate(), wall.getUTCMonth() + 1, wall.getUTCDay())
      ) {
        out.push(new Date(t));
      }
    }
    return out;
  }

  private slowBetween(from: Date, end: number, limit: number): Date[] {
    const cron = this.cron();
    const out: Date[] = [];
    // nextRun is strictly after its argument (at whole seconds), so step back 1 ms to include `from`.
    let at = cron.nextRun(new Date(from.getTime() - 1));
    while (at !== null && at.getTime() < end && out.length <= limit) {
      out.push(at);
      at = cron.nextRun(at);
    }
    return out;
  }

  private cron(): Cron {
    const f = this.fields;
    // The seconds field as a range with a step makes croner apply its interval-job DST rules
    // (skip times in a spring-forward gap, run a repeated time twice), which are robfig's.
    const pattern = (this.pattern ??= [`${f.second}-${f.second}/1`, f.minute, f.hour, f.dom, f.month, f.dow]
      .map((field) => (typeof field === 'string' ? field : field.flatMap((on, v) => (on ? [v] : [])).join(',')))
      .join(' '));
    const key = `${this.zone} ${f.dayAnd} ${pattern}`;
    let cron = crons.get(key);
    if (cron) {
      crons.delete(key);
    } else {
      const options: CronOptions = {
        mode: '6-part',
        domAndDow: f.dayAnd,
        // croner is several times faster on a fixed offset than through Intl for UTC.
        ...(this.zone === 'UTC' ? { utcOffset: 0 } : { timezone: this.zone }),
      };
      try {
        cron = new Cron(pattern, options);
      } catch (err) {
        throw new ScheduleError(`failed to evaluate schedule ${JSON.stringify(this.expression)}`, { cause: err });
      }
      if (crons.size >= MAX_CRONS) crons.delete(crons.keys().next().value as string);
    }
    crons.set(key, cron);
    return cron;
  }
}

/** croner instances by pattern, least recently used first (each holds about 80 KB). */
const MAX_CRONS = 256;
const crons = new Map<string, Cron>();

function mod(a: number, n: number): number {
  return ((a % n) + n) % n;
}

// ---- time zones --------------------------------------------------------------------------------

const formatters = new Map<string, Intl.DateTimeFormat>();
const offsets = new Map<string, number>();
const MAX_OFFSETS = 10_000;

/** The zone's UTC offset at an instant (wall clock minus UTC), in ms. Cached: every spec of a tick asks for the same instants. */
function utcOffsetMs(zone: string, at: number): number {
  if (zone === 'UTC') return 0;
  const key = `${zone} ${at}`;
  let offset = offsets.get(key);
  if (offset === undefined) {
    let format = formatters.get(zone);
    if (!format) {
      format = new Intl.DateTimeFormat('en-US', {
        timeZone: zone,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      });
      formatters.set(zone, format);
    }
    const part: Record<string, number> = {};
    for (const p of format.formatToParts(at)) part[p.type] = Number(p.value);
    const wall = Date.UTC(part.year, part.month - 1, part.day, part.hour, part.minute, part.second);
    offset = wall - (at - mod(at, SECOND_MS));
    if (offsets.size >= MAX_OFFSETS) offsets.clear();
    offsets.set(key, offset);
  }
  return offset;
}

// ---- shortest interval -------------------------------------------------------------------------

/** Days in 400 Gregorian years, after which dates and weekdays repeat (it is a whole number of weeks). */
const CYCLE_DAYS = 146_097;

function minIntervalMs(f: Fields): number {
  const times: number[] = [];
  f.hour.forEach((h, hour) => h && f.minute.forEach((m, minute) => m && times.push(hour * 3600 + minute * 60 + f.second)));
  let best = Infinity;
  for (let i = 1; i < times.length; i++) best = Math.min(best, times[i] - times[i - 1]);
  const spanOfDay = times[times.length - 1] - times[0];
  return Math.min(best, minDayGap(f) * DAY_S - spanOfDay) * SECOND_MS;
}

/**
 * Calls `visit` with each day the schedule fires on over one 400-year cycle (from 2000-01-01,
 * day 0), ascending, until it returns false; after the cycle, dates and weekdays repeat.
 */
function forEachFireDay(f: Fields, visit: (day: number) => boolean): void {
  let day = 0;
  let weekday = 6; // 2000-01-01 was a Saturday
  for (let year = 2000; year < 2400; year++) {
    for (let month = 1; month <= 12; month++) {
      const days = month === 2 ? (isLeap(year) ? 29 : 28) : MAX_DAYS[month];
      if (f.month[month]) {
        for (let d = 1; d <= days; d++) if (dayMatches(f, d, month, (weekday + d - 1) % 7) && !visit(day + d - 1)) return;
      }
      day += days;
      weekday = (weekday + days) % 7;
    }
  }
}

/** The fewest days between two consecutive days the schedule fires on. */
function minDayGap(f: Fields): number {
  let first = -1;
  let previous = -1;
  let best = Infinity;
  forEachFireDay(f, (at) => {
    if (previous < 0) first = at;
    else best = Math.min(best, at - previous);
    previous = at;
    return best > 1;
  });
  return best === 1 ? 1 : Math.min(best, first + CYCLE_DAYS - previous);
}

/**
 * The most days between two consecutive days the schedule fires on (over the 400-year cycle),
 * or 366 and less without counting where that is certain: restricted day of month and day of
 * week fire on either, so every week of an allowed month; a day of month of `*` with a day of
 * week fires in every allowed month; a day of week of `*` fires every year on each allowed
 * date that every year has (all but February 29th).
 */
function maxDayGap(f: Fields): number {
  const all = (values: readonly boolean[], from: number) => values.every((on, v) => on || v < from);
  if (!f.dayAnd || all(f.dom, 1)) return MAX_INTERVAL_DAYS;
  if (all(f.dow, 0) && f.month.some((on, m) => on && f.dom.some((d, day) => d && day <= (m === 2 ? 28 : MAX_DAYS[m])))) return MAX_INTERVAL_DAYS;
  let first = -1;
  let previous = -1;
  let worst = 0;
  forEachFireDay(f, (at) => {
    if (previous < 0) first = at;
    else worst = Math.max(worst, at - previous);
    previous = at;
    return true;
  });
  return Math.max(worst, first + CYCLE_DAYS - previous);
}

function isLeap(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}
