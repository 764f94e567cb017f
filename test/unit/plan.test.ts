import { describe, expect, it } from 'vitest';
import { plan, planChecks, type PlannedRun } from '../../core/plan';
import { API_VERSION, KIND, ResticSchema, type Restic, type ResticSpec } from '../../schemas/restic';

/** A valid Restic spec with the given name and schedule, plus any spec fields to change. */
function restic(name: string, schedule: string, spec: Partial<ResticSpec> = {}): Restic {
  return ResticSchema.parse({
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name },
    spec: {
      fileGroups: [{ path: '/data' }],
      backend: { storageSecretName: 'backup-secret', s3: { endpoint: 's3.amazonaws.com', bucket: 'stash-backups' } },
      schedule,
      ...spec,
    },
  });
}

const at = (text: string) => new Date(text);
const rows = (runs: readonly PlannedRun[]) => runs.map((r) => [r.at.toISOString(), r.spec, r.kind]);

describe('plan', () => {
  it('plans every backup in the window, sorted by time, then spec name', () => {
    const specs = [
      restic('zeta', '*/15 * * * *'),
      restic('alpha', '0 2 * * *'),
      restic('mid', 'TZ=Europe/Berlin 15 3 * * *'), // 02:15 UTC in winter
      restic('beta', '0 2 * * *'),
    ];
    expect(rows(plan(specs, at('2025-01-01T02:00:00Z'), at('2025-01-01T02:31:00Z')))).toEqual([
      ['2025-01-01T02:00:00.000Z', 'alpha', 'backup'],
      ['2025-01-01T02:00:00.000Z', 'beta', 'backup'],
      ['2025-01-01T02:00:00.000Z', 'zeta', 'backup'],
      ['2025-01-01T02:15:00.000Z', 'mid', 'backup'],
      ['2025-01-01T02:15:00.000Z', 'zeta', 'backup'],
      ['2025-01-01T02:30:00.000Z', 'zeta', 'backup'],
    ]);
  });

  it('includes a run exactly at from and leaves one exactly at until to the next window', () => {
    const specs = [restic('hourly', '@hourly')];
    expect(rows(plan(specs, at('2025-01-01T01:00:00Z'), at('2025-01-01T03:00:00Z')))).toEqual([
      ['2025-01-01T01:00:00.000Z', 'hourly', 'backup'],
      ['2025-01-01T02:00:00.000Z', 'hourly', 'backup'],
    ]);
    expect(rows(plan(specs, at('2025-01-01T03:00:00Z'), at('2025-01-01T03:01:00Z')))).toEqual([['2025-01-01T03:00:00.000Z', 'hourly', 'backup']]);
    expect(plan(specs, at('2025-01-01T02:59:00Z'), at('2025-01-01T03:00:00Z'))).toEqual([]);
  });

  it('tiles time: consecutive one-minute windows plan each run once', () => {
    const specs = [restic('a', '*/7 * * * *'), restic('b', '@every 5m'), restic('c', 'TZ=Asia/Kathmandu 0 * * * *')];
    const start = at('2025-01-01T00:00:00Z').getTime();
    const byMinute = Array.from({ length: 120 }, (_, i) => plan(specs, new Date(start + i * 60_000), new Date(start + (i + 1) * 60_000))).flat();
    const whole = plan(specs, new Date(start), new Date(start + 120 * 60_000));
    expect(rows(byMinute)).toEqual(rows(whole));
    expect(whole.filter((r) => r.spec === 'a')).toHaveLength(18); // minutes 0,7,...,56 in each of 2 hours
    expect(whole.filter((r) => r.spec === 'b')).toHaveLength(24);
    expect(rows(whole.filter((r) => r.spec === 'c'))).toEqual([
      ['2025-01-01T00:15:00.000Z', 'c', 'backup'],
      ['2025-01-01T01:15:00.000Z', 'c', 'backup'],
    ]);
  });

  it('skips a paused spec', () => {
    const specs = [restic('paused', '* * * * *', { paused: true }), restic('running', '* * * * *', { paused: false })];
    expect(rows(plan(specs, at('2025-01-01T00:00:00Z'), at('2025-01-01T00:01:00Z')))).toEqual([['2025-01-01T00:00:00.000Z', 'running', 'backup']]);
  });

  it('skips a spec whose schedule does not parse, and plans the others', () => {
    const specs = [restic('broken', '61 * * * *'), restic('too-fast', '@every 10s'), restic('fine', '* * * * *')];
    expect(rows(plan(specs, at('2025-01-01T00:00:00Z'), at('2025-01-01T00:01:00Z')))).toEqual([['2025-01-01T00:00:00.000Z', 'fine', 'backup']]);
  });

  it('plans nothing for an empty or inverted window', () => {
    const specs = [restic('every-minute', '* * * * *')];
    expect(plan(specs, at('2025-01-01T00:00:00Z'), at('2025-01-01T00:00:00Z'))).toEqual([]);
    expect(plan(specs, at('2025-01-01T00:05:00Z'), at('2025-01-01T00:00:00Z'))).toEqual([]);
    expect(plan([], at('2025-01-01T00:00:00Z'), at('2025-01-02T00:00:00Z'))).toEqual([]);
  });

  it('does not plan checks', () => {
    expect(plan([restic('a', '@daily')], at('2025-06-02T00:00:00Z'), at('2025-06-02T00:01:00Z')).map((r) => r.kind)).toEqual(['backup']);
  });

  it('refuses a window in which one spec would run more than 100000 times', () => {
    expect(() => plan([restic('every-minute', '@every 1m')], at('2024-01-01T00:00:00Z'), at('2025-01-01T00:00:00Z'))).toThrow(
      'schedule "@every 1m" fires more than 100000 times from 2024-01-01T00:00:00.000Z until 2025-01-01T00:00:00.000Z; ask for a shorter window',
    );
  });

  it('plans 10,000 specs with many schedules and zones for one-minute ticks', () => {
    const zones = ['', 'TZ=Europe/Berlin ', 'CRON_TZ=America/New_York ', 'TZ=Asia/Kolkata '];
    const base = restic('base', '@daily');
    // 10,000 specs, 3,000 distinct schedules, a quarter of them in time zones.
    const specs: Restic[] = Array.from({ length: 10_000 }, (_, i) => {
      const n = i % 3000;
      return { ...base, metadata: { name: `spec-${i}` }, spec: { ...base.spec, schedule: `${zones[n % 4]}${n % 60} ${Math.floor(n / 60) % 24} * * ${n % 5 ? '*' : 'MON-FRI'}` } };
    });
    // How fast this is belongs to the benchmarks (npm run bench), not to a test.
    const tick = (minute: number) => {
      const from = new Date(Date.UTC(2025, 5, 2, 10, minute));
      return { runs: [...plan(specs, from, new Date(from.getTime() + 60_000)), ...planChecks(specs, from, new Date(from.getTime() + 60_000))] };
    };
    const first = tick(0);
    const later = tick(1);
    // Monday 10:00 UTC: the UTC schedules "0 10 * * MON-FRI" (n = 600, 2040); no check is due.
    expect(first.runs.map((r) => r.spec)).toEqual(['spec-2040', 'spec-3600', 'spec-5040', 'spec-600', 'spec-6600', 'spec-8040', 'spec-9600']);
    expect(first.runs.every((r) => r.kind === 'backup' && r.at.toISOString() === '2025-06-02T10:00:00.000Z')).toBe(true);
    // 10:01 UTC is 12:01 in Berlin, "TZ=Europe/Berlin 1 12 * * *" (n = 721, 2161), and 15:31 in
    // Kolkata, "TZ=Asia/Kolkata 31 15 * * *" (n = 931, 2371).
    expect(later.runs.map((r) => r.spec)).toEqual([
      ...['spec-2161', 'spec-2371', 'spec-3721', 'spec-3931', 'spec-5161', 'spec-5371', 'spec-6721'],
      ...['spec-6931', 'spec-721', 'spec-8161', 'spec-8371', 'spec-931', 'spec-9721', 'spec-9931'],
    ]);
    expect(later.runs.every((r) => r.at.toISOString() === '2025-06-02T10:01:00.000Z')).toBe(true);
  });
});

describe('planChecks', () => {
  it("runs restic check by default as Stash did: midnight UTC on days 1, 4, ..., 31", () => {
    const specs = [restic('b', '@daily'), restic('a', '0 3 * * *')];
    expect(rows(planChecks(specs, at('2025-05-27T00:00:00Z'), at('2025-06-05T00:00:00Z')))).toEqual([
      ['2025-05-28T00:00:00.000Z', 'a', 'check'],
      ['2025-05-28T00:00:00.000Z', 'b', 'check'],
      ['2025-05-31T00:00:00.000Z', 'a', 'check'],
      ['2025-05-31T00:00:00.000Z', 'b', 'check'],
      ['2025-06-01T00:00:00.000Z', 'a', 'check'],
      ['2025-06-01T00:00:00.000Z', 'b', 'check'],
      ['2025-06-04T00:00:00.000Z', 'a', 'check'],
      ['2025-06-04T00:00:00.000Z', 'b', 'check'],
    ]);
  });

  it('uses spec.check.schedule when there is one', () => {
    const specs = [restic('weekly-check', '@daily', { check: { schedule: 'TZ=Europe/Berlin 0 4 * * SUN' } })];
    expect(rows(planChecks(specs, at('2025-06-01T00:00:00Z'), at('2025-06-15T00:00:00Z')))).toEqual([
      ['2025-06-01T02:00:00.000Z', 'weekly-check', 'check'],
      ['2025-06-08T02:00:00.000Z', 'weekly-check', 'check'],
    ]);
  });

  it('plans no checks for a paused spec or paused checks, and still plans the backups of the latter', () => {
    const specs = [
      restic('paused', '@daily', { paused: true }),
      restic('checks-paused', '@daily', { check: { paused: true } }),
      restic('checked', '@daily', { check: { paused: false } }),
    ];
    const from = at('2025-06-04T00:00:00Z');
    const until = at('2025-06-04T00:01:00Z');
    expect(rows(planChecks(specs, from, until))).toEqual([['2025-06-04T00:00:00.000Z', 'checked', 'check']]);
    expect(rows(plan(specs, from, until))).toEqual([
      ['2025-06-04T00:00:00.000Z', 'checked', 'backup'],
      ['2025-06-04T00:00:00.000Z', 'checks-paused', 'backup'],
    ]);
  });

  it('skips a spec whose check schedule does not parse', () => {
    const specs = [restic('broken', '@daily', { check: { schedule: '@every 5s' } }), restic('fine', '@daily')];
    expect(rows(planChecks(specs, at('2025-06-04T00:00:00Z'), at('2025-06-04T00:01:00Z')))).toEqual([['2025-06-04T00:00:00.000Z', 'fine', 'check']]);
  });
});
