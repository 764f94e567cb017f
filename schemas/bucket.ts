/**
 * What the config bucket holds, and where. The stack, the functions, the task and the CLI
 * all take these prefixes from here.
 *
 * ```
 * specs/                  Restic specs and Recovery documents (the user's; the prefix is a setting)
 * status/<spec>.json      each spec's status          (record, validate, dispatch write it)
 * status/recoveries/      each Recovery's status
 * state/                  the dispatcher's own: watermark, launcher.json, compiled specs
 * runs/<spec>/<run>.json  one result per run           (the task writes it; record reads it, or writes it for a task that died)
 * ```
 */

/** Where the specs are unless the stack is told otherwise. */
export const DEFAULT_SPEC_PREFIX = 'specs/';
/** Where each spec's (and each Recovery's) status is kept. Fixed: the CLI reads it there. */
export const STATUS_PREFIX = 'status/';
/** The dispatcher's own state. Fixed. */
export const STATE_PREFIX = 'state/';
/** One result per run, the history of each spec. Fixed. */
export const RUNS_PREFIX = 'runs/';
