/**
 * The run log's records (what the runner and the engine say, as JSON lines in
 * `<state>/logs/<spec>.jsonl` or CloudWatch) as a person reads them: a summary in human units
 * per fileGroup, one line per run with its outcome (and its error, once), warnings and errors.
 * `--verbose` shows every record with its details instead.
 */
import { formatBytes, formatDuration, plural } from './units';
import type { Output } from './output';

/** One log record as a line: `spec: LEVEL: message (key=value ...)`. */
export function humanLine(level: string, message: string, extra?: Record<string, unknown>): string {
  const { spec, run, ...rest } = extra ?? {};
  void run;
  const details = Object.entries(rest)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  const prefix = level === 'INFO' ? '' : `${level}: `;
  return `${spec ? `${String(spec)}: ` : ''}${prefix}${message}${details ? ` (${details})` : ''}`;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/**
 * A fileGroup's backup in a line: what was added (and stored, compressed), how long it took,
 * the files, the snapshot and what retention did.
 *
 * @example backupSummary({ fileGroup: '/data', dataAdded: 570350592, dataAddedPacked: 248774656, duration: 14.8, ... })
 * // '/data: added 543.9 MiB (237.3 MiB stored) in 14.8 s; 47248 files (47248 new, 0 changed, 0 unchanged); snapshot 1a2b3c4d'
 */
export function backupSummary(r: Record<string, unknown>): string {
  const added = num(r.dataAdded);
  const packed = num(r.dataAddedPacked);
  const seconds = num(r.duration);
  const parts = [`added ${formatBytes(added ?? 0)}${packed !== undefined ? ` (${formatBytes(packed)} stored)` : ''}${seconds !== undefined ? ` in ${formatDuration(seconds * 1000)}` : ''}`];
  const files = num(r.totalFilesProcessed);
  if (files !== undefined) parts.push(`${plural(files, 'file')} (${num(r.filesNew) ?? 0} new, ${num(r.filesChanged) ?? 0} changed, ${num(r.filesUnmodified) ?? 0} unchanged)`);
  const snapshot = str(r.snapshotId);
  if (snapshot) parts.push(`snapshot ${snapshot.slice(0, 8)}`);
  const forgotten = num(r.forgotten);
  const wouldForget = num(r.wouldForget);
  const kept = num(r.snapshots);
  if (forgotten !== undefined) parts.push(`forgot ${plural(forgotten, 'snapshot')}${kept !== undefined ? `, ${kept} kept` : ''}`);
  else if (wouldForget !== undefined) parts.push(`would forget ${plural(wouldForget, 'snapshot')} (retention policy dryRun)`);
  return `${str(r.fileGroup) ?? str(r.path) ?? ''}: ${parts.join('; ')}`;
}

/** A run's outcome in a line: `home: backup succeeded (15.2 s)`, `home: check failed: why`. */
export function outcomeLine(r: Record<string, unknown>): string {
  const ms = num(r.durationMs);
  const error = str(r.error);
  return `${str(r.spec) ?? ''}: ${str(r.kind) ?? 'run'} ${str(r.outcome) ?? 'finished'}${error ? `: ${error}` : ms ? ` (${formatDuration(ms)})` : ''}`;
}

/** Shows one run log record on `out`, at its verbosity, and moves the live lines on. */
export function presentRecord(out: Output, level: string, message: string, extra: Record<string, unknown> = {}): void {
  const spec = str(extra.spec) ?? '';
  const fileGroup = str(extra.fileGroup);
  switch (message) {
    case 'check started':
      out.started(spec, 'check');
      break;
    case 'fileGroup backed up':
    case 'fileGroup backup failed':
    case 'fileGroup restored':
      out.finished(spec, fileGroup);
      break;
    case 'run finished':
      out.finished(spec);
      break;
  }
  if (out.verbose) {
    const line = humanLine(level, message, extra);
    if (level === 'ERROR') out.error(line);
    else if (level === 'WARN') out.warn(humanLine('INFO', message, extra));
    else out.debug(line);
    return;
  }
  switch (message) {
    case 'backup started':
    case 'check started':
    case 'fileGroup restored': // the restore command prints each fileGroup
    case 'fileGroup backup failed': // the run's line says why, once
      return;
    case 'backup progress':
      // On a terminal the live line shows it; elsewhere a line every 30 s says the run is alive.
      if (!out.interactive) out.info(`${spec}: ${fileGroup ?? ''}: ${progressText(extra)}`);
      return;
    case 'fileGroup backed up':
      out.info(`${spec}: ${backupSummary(extra)}`);
      return;
    case 'run finished':
      if (str(extra.outcome) === 'succeeded') {
        if (!out.json) out.line(`${spec}: ${str(extra.kind) ?? 'run'} ${out.good('succeeded')}${num(extra.durationMs) ? ` (${formatDuration(num(extra.durationMs)!)})` : ''}`);
      } else out.error(outcomeLine(extra));
      if (str(extra.hint)) out.error(`hint: ${str(extra.hint)}`);
      return;
    case 'initialising repository':
      out.info(`${spec}: initialising the repository at ${str(extra.repository) ?? '?'}`);
      return;
  }
  if (level === 'ERROR') out.error(humanLine(level, message, extra));
  else if (level === 'WARN') out.warn(humanLine('INFO', message, extra));
  else out.info(humanLine(level, message, extra));
}

/** `40.8%, 16583 of 47248 files, 225.6 MiB of 552.9 MiB`, from the runner's `backup progress` record. */
function progressText(r: Record<string, unknown>): string {
  const parts = [`${((num(r.percentDone) ?? 0) * 100).toFixed(1)}%`];
  if (num(r.filesDone) !== undefined) parts.push(`${num(r.filesDone)} of ${num(r.totalFiles) ?? '?'} files`);
  if (num(r.bytesDone) !== undefined) parts.push(`${formatBytes(num(r.bytesDone)!)} of ${num(r.totalBytes) !== undefined ? formatBytes(num(r.totalBytes)!) : '?'}`);
  return parts.join(', ');
}
