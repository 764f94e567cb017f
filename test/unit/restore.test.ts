import { describe, expect, it } from 'vitest';
import { pickSnapshots } from '../../runner/restore';
import type { Snapshot } from '../../runner/run';

/** A snapshot as `restic snapshots --json` prints it, with the fields the choice reads. */
function snap(id: string, time: string, path: string): Snapshot {
  return { id: `${id}${'0'.repeat(56)}`, short_id: id, time, hostname: 'db', paths: [path] };
}

const groups = [
  { path: '/data', source: '/srv/data' },
  { path: '/logs', source: '/logs' },
];
// restic's order (oldest first by time); the time strings carry each machine's UTC offset.
const snapshots = [
  snap('aaaaaaaa', '2026-01-01T12:00:00.123456789+09:00', '/srv/data'), // 03:00Z
  snap('bbbbbbbb', '2026-01-01T10:00:00Z', '/srv/data'),
  snap('cccccccc', '2026-01-01T09:00:00-05:00', '/logs'), // 14:00Z
  snap('dddddddd', '2026-01-01T13:00:00Z', '/logs'),
  snap('eeeeeeee', '2026-01-02T00:00:00Z', '/elsewhere'),
];

describe('pickSnapshots', () => {
  it('picks each fileGroup its newest snapshot by time, whatever the offsets in the time strings', () => {
    expect(pickSnapshots('db', groups, snapshots).map((p) => [p.path, p.snapshot.short_id])).toEqual([
      ['/data', 'bbbbbbbb'],
      ['/logs', 'cccccccc'],
    ]);
  });

  it.each([
    ['aaaaaaaa', [['/data', 'aaaaaaaa']]],
    ['dddd', [['/logs', 'dddddddd']]],
  ])('with snapshot %s, picks only the fileGroup it belongs to', (wanted, expected) => {
    expect(pickSnapshots('db', groups, snapshots, wanted).map((p) => [p.path, p.snapshot.short_id])).toEqual(expected);
  });

  it.each([
    ['a snapshot of no fileGroup', groups, 'eeeeeeee', "snapshot eeeeeeee is not a snapshot of db's fileGroups"],
    ['a fileGroup with no snapshot', [...groups, { path: '/empty', source: '/empty' }], undefined, 'no snapshot of /empty for db'],
  ])('refuses %s', (_case, gs, wanted, message) => {
    expect(() => pickSnapshots('db', gs, snapshots, wanted)).toThrow(message);
  });
});
