/**
 * What `stash` shows a person, and how: results on stdout; what happens (narrative) on stdout
 * unless `--quiet` or `--json`; the run log's every detail only with `--verbose`; warnings and
 * errors on stderr, in colour on a terminal; and, on a terminal only, one live line per running
 * fileGroup (restic's progress), replaced by its summary when it ends.
 *
 * Colour is Node's `util.styleText`, decided here per stream: `NO_COLOR` (any value but empty)
 * turns it off, `FORCE_COLOR` on (`0` or `false` off), otherwise a terminal that has colours
 * (which also honours `TERM=dumb`). The decision is made here rather than by styleText's own
 * `stream` option because Node 20 (still supported) ignores that option and always colours.
 * The live lines are drawn by log-update on stderr; nothing is ever animated on a pipe.
 */
import { styleText } from 'node:util';
import type { ProgressEvent } from '../runner/run';
import { presentRecord } from './present';
import { formatBytes, formatClock } from './units';

/** Where the CLI writes; tests capture it. Capabilities absent mean a pipe: no colour, nothing live. */
export interface Io {
  /** A line on stdout. */
  line(text: string): void;
  /** A line on stderr. */
  error(text: string): void;
  /** Raw output (JSON) on stdout, no newline added. */
  write(text: string): void;
  /** Whether each stream gets colour (see the module's description). @default none */
  readonly color?: { readonly stdout: boolean; readonly stderr: boolean };
  /** Live lines on stderr; only given when stderr is a terminal. */
  readonly live?: LiveArea;
  /** True once stdout's reader has gone (`stash status | head -1`): a command that only prints may stop. */
  readonly closed?: boolean;
}

/** A block of lines redrawn in place (log-update's interface). */
export interface LiveArea {
  /** Replaces the block with `text` (lines separated by "\n"). */
  render(text: string): void;
  /** Erases the block. */
  clear(): void;
}

/** How much to show, from the global `--quiet` and `--verbose` and a command's `--json`. */
export interface Verbosity {
  readonly quiet?: boolean;
  readonly verbose?: boolean;
  /** stdout carries JSON only: no narrative there. */
  readonly json?: boolean;
}

/** Whether `stream` gets colour: `NO_COLOR`, then `FORCE_COLOR`, then a terminal with colours. */
export function colorEnabled(stream: { readonly isTTY?: boolean; hasColors?: () => boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false';
  return stream.isTTY === true && (stream.hasColors?.() ?? false);
}

type Style = Parameters<typeof styleText>[0];

/** `text` in `style` when `enabled`. */
export function paint(style: Style, text: string, enabled: boolean | undefined): string {
  // validateStream: false: whether to colour was decided by colorEnabled (Node 22.13+ would otherwise check stdout).
  return enabled ? styleText(style, text, { validateStream: false } as never) : text;
}

/** One running thing shown live: a fileGroup's backup or restore, or a check. */
interface LiveLine {
  readonly spec: string;
  readonly action: 'backup' | 'restore' | 'check';
  readonly fileGroup?: string;
  readonly startedAt: number;
  status?: Record<string, unknown>;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
/** Redraws at most this often (restic sends dozens of status messages a second). */
const FRAME_MS = 100;

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/**
 * One progress line, as restic draws its own: elapsed time, percent, files, bytes, rate, ETA.
 *
 * @example progressLine({ spec: 'home', action: 'backup', fileGroup: '/data', startedAt: 0, status: {...} }, 6000)
 * // 'home /data  [0:06] 40.8%  16583/47248 files  225.6 MiB/552.9 MiB  37.6 MiB/s  ETA 0:08'
 */
export function progressLine(l: Omit<LiveLine, 'startedAt'>, elapsedMs: number, frame = 0): string {
  const s = l.status ?? {};
  const elapsed = num(s.seconds_elapsed) ?? elapsedMs / 1000;
  const who = `${l.spec}${l.fileGroup ? ` ${l.fileGroup}` : ''}`;
  if (l.action === 'check') return `${who}  checking the repository [${formatClock(elapsed)}] ${SPINNER[frame % SPINNER.length]}`;
  const verb = l.action === 'restore' ? 'restoring ' : '';
  if (!l.status) return `${who}  ${verb}[${formatClock(elapsed)}] starting ${SPINNER[frame % SPINNER.length]}`;
  const doneFiles = num(l.action === 'restore' ? s.files_restored : s.files_done) ?? 0;
  const doneBytes = num(l.action === 'restore' ? s.bytes_restored : s.bytes_done) ?? 0;
  const parts = [`${verb}[${formatClock(elapsed)}] ${((num(s.percent_done) ?? 0) * 100).toFixed(1)}%`];
  const totalFiles = num(s.total_files);
  parts.push(totalFiles !== undefined ? `${doneFiles}/${totalFiles} files` : `${doneFiles} files`);
  const totalBytes = num(s.total_bytes);
  parts.push(totalBytes !== undefined ? `${formatBytes(doneBytes)}/${formatBytes(totalBytes)}` : formatBytes(doneBytes));
  if (elapsed > 0) parts.push(`${formatBytes(doneBytes / elapsed)}/s`);
  const remaining = num(s.seconds_remaining);
  if (remaining !== undefined && remaining > 0) parts.push(`ETA ${formatClock(remaining)}`);
  return `${who}  ${parts.join('  ')}`;
}

/**
 * The CLI's output for one invocation: {@link Io} plus what to show at which verbosity,
 * colour, and live progress lines that every other line is printed above.
 */
export class Output implements Io {
  private verbosity: Verbosity = {};
  private readonly lines = new Map<string, LiveLine>();
  private timer: NodeJS.Timeout | undefined;
  private dirty = false;
  private frame = 0;
  private shown = false;

  constructor(private readonly io: Io) {}

  /** Sets the verbosity (the global flags and the command's `--json`, known once parsed). */
  configure(v: Verbosity): void {
    this.verbosity = v;
  }

  get color(): Io['color'] {
    return this.io.color;
  }

  get closed(): boolean {
    return this.io.closed ?? false;
  }

  /** `--quiet`: no narrative, nothing live. */
  get quiet(): boolean {
    return !!this.verbosity.quiet;
  }

  /** `--verbose`: every run log record with its details. */
  get verbose(): boolean {
    return !!this.verbosity.verbose && !this.verbosity.quiet;
  }

  /** `--json`: stdout carries JSON only. */
  get json(): boolean {
    return !!this.verbosity.json;
  }

  /** Whether progress is drawn live (a terminal, neither `--quiet` nor `--verbose`). */
  get interactive(): boolean {
    return !!this.io.live && !this.quiet && !this.verbose;
  }

  /** A result line on stdout (shown at every verbosity). */
  line(text: string): void {
    this.above(() => this.io.line(text));
  }

  /** Raw output on stdout. */
  write(text: string): void {
    this.above(() => this.io.write(text));
  }

  /** A line on stderr, red on a terminal: an error. */
  error(text: string): void {
    this.above(() => this.io.error(paint('red', text, this.io.color?.stderr)));
  }

  /** `warning: text` on stderr, yellow on a terminal. */
  warn(text: string): void {
    this.above(() => this.io.error(paint('yellow', `warning: ${text}`, this.io.color?.stderr)));
  }

  /** What is happening, on stdout; hidden by `--quiet` and `--json`. */
  info(text: string): void {
    if (this.quiet || this.verbosity.json) return;
    this.line(text);
  }

  /** A detail for `--verbose` only, dimmed on a terminal. */
  debug(text: string): void {
    if (!this.verbose || this.verbosity.json) return;
    this.above(() => this.io.line(paint('dim', text, this.io.color?.stdout)));
  }

  /** `text` in green (a success) where stdout has colour. */
  good(text: string): string {
    return paint('green', text, this.io.color?.stdout);
  }

  /** `text` in red (a failure) where stdout has colour. */
  bad(text: string): string {
    return paint('red', text, this.io.color?.stdout);
  }

  /** A run log record, shown at this verbosity (see {@link presentRecord}). */
  record(level: string, message: string, extra?: Record<string, unknown>): void {
    presentRecord(this, level, message, extra);
  }

  /** restic's progress for a fileGroup of `spec`: its live line starts or moves on (a terminal only). */
  progress(spec: string, event: ProgressEvent): void {
    if (!this.interactive) return;
    const key = `${spec}\0${event.fileGroup}`;
    const line = this.lines.get(key) ?? { spec, action: event.action, fileGroup: event.fileGroup, startedAt: Date.now() };
    line.status = event.status;
    this.lines.set(key, line);
    this.schedule();
  }

  /** Starts a live line with only a clock (restic check prints no progress). */
  started(spec: string, action: LiveLine['action'], fileGroup?: string): void {
    if (!this.interactive) return;
    this.lines.set(`${spec}\0${fileGroup ?? ''}`, { spec, action, fileGroup, startedAt: Date.now() });
    this.schedule();
  }

  /** Ends a live line (`fileGroup` undefined: every line of the spec); what is printed next replaces it. */
  finished(spec: string, fileGroup?: string): void {
    let changed = false;
    for (const [key, l] of this.lines) {
      if (l.spec === spec && (fileGroup === undefined || (l.fileGroup ?? '') === fileGroup)) changed = this.lines.delete(key) || changed;
    }
    if (changed) this.redraw();
  }

  /** Erases every live line (the command is done). */
  stop(): void {
    this.lines.clear();
    this.redraw();
  }

  /** Prints `print`'s output above the live lines: they are erased first and drawn again after. */
  private above(print: () => void): void {
    if (this.shown) {
      this.io.live?.clear();
      this.shown = false;
    }
    print();
    if (this.lines.size) this.draw();
  }

  private schedule(): void {
    this.dirty = true;
    if (this.timer) return;
    this.draw();
    this.timer = setInterval(() => {
      this.frame++;
      // The clocks move every second even when restic says nothing.
      if (this.dirty || this.frame % (1000 / FRAME_MS) === 0) this.draw();
    }, FRAME_MS);
    this.timer.unref();
  }

  private redraw(): void {
    if (this.lines.size) {
      this.draw();
      return;
    }
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.shown) this.io.live?.clear();
    this.shown = false;
  }

  private draw(): void {
    this.dirty = false;
    if (!this.io.live || !this.lines.size) return;
    const now = Date.now();
    this.io.live.render([...this.lines.values()].map((l) => progressLine(l, now - l.startedAt, this.frame)).join('\n'));
    this.shown = true;
  }
}
