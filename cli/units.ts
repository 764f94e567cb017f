/**
 * Numbers as a person reads them: bytes in IEC units (restic's own: `543.9 MiB`), durations
 * (`14.8 s`, `2 min 05 s`) and clocks (`0:08`, `1:02:03`, as restic's progress line shows them).
 */

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/**
 * Bytes in binary units with one decimal (whole bytes below 1 KiB).
 *
 * @example formatBytes(570_350_592) // '543.9 MiB'
 */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

/**
 * A duration: seconds with one decimal under a minute, then minutes and seconds, then hours
 * and minutes.
 *
 * @example formatDuration(14_819) // '14.8 s'
 * @example formatDuration(125_000) // '2 min 05 s'
 */
export function formatDuration(ms: number): string {
  if (ms < 60_000) return `${(Math.max(0, ms) / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/**
 * Elapsed or remaining seconds as a clock, `m:ss` or `h:mm:ss`.
 *
 * @example formatClock(8) // '0:08'
 */
export function formatClock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return hh ? `${hh}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

/** `1 snapshot`, `2 snapshots`. */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
