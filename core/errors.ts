/**
 * Every error Stash raises extends {@link StashError}, so callers can tell ours from the
 * platform's and keep the chain (`cause`) that led to it, like Go's `%w`.
 */
export class StashError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** One problem with one spec document: where it is and what is wrong. */
export interface SpecProblem {
  /** The file or object key the document came from. */
  readonly source: string;
  /** Dotted field path with `[i]` indices, e.g. `spec.fileGroups[0].path`; empty for the whole document. */
  readonly path: string;
  readonly message: string;
}

/** Formats a problem the way every Stash command prints it: `FILE: field.path: message`. */
export function formatProblem(p: SpecProblem): string {
  return p.path ? `${p.source}: ${p.path}: ${p.message}` : `${p.source}: ${p.message}`;
}

/** A spec that cannot be used; carries every problem found in it. */
export class SpecError extends StashError {
  readonly problems: readonly SpecProblem[];
  constructor(problems: readonly SpecProblem[], options?: { cause?: unknown }) {
    super(problems.map(formatProblem).join('\n'), options);
    this.problems = problems;
  }
}

/** Configuration (environment, CLI options, secrets, volumes) that does not allow a run. */
export class ConfigError extends StashError {}

/** A secret that is missing or lacks keys its backend needs. Never carries a secret value. */
export class SecretError extends ConfigError {}

/** restic exited with a non-zero code. `output` is already redacted. */
export class ResticError extends StashError {
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly output: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The message of any thrown value, for logs and status objects. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
