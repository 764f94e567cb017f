/**
 * Local mode or a deployed stack, chosen here and nowhere else, from where the store flags
 * point: `--specs s3://bucket/prefix` (with `--secrets sm://prefix`, `--state s3://...`) is a
 * deployed stack's stores, anything else files and folders on this machine. The remote module
 * is imported only for a stack: it brings the AWS SDK, which local commands never load.
 */
import type { Command } from 'commander';
import { usageError, type Io } from './command';
import { fileRunLog, LocalEngine } from './local/engine';
import type { RemoteStash } from './remote';
import type { Stash } from './stash';

/** `--specs`, `--secrets` and `--state`: where the specs, the secrets and the statuses are. */
export interface StoreOptions {
  readonly specs: string;
  readonly secrets: string;
  readonly state: string;
}

/** The store flags' defaults: folders under the working directory. */
export const STORE_DEFAULTS: StoreOptions = { specs: 'specs', secrets: 'secrets', state: '.stash' };

/** Adds the store flags to a command. */
export function withStores(command: Command): Command {
  return command
    .option('--specs <path>', 'folder or file of Restic specs', STORE_DEFAULTS.specs)
    .option('--secrets <dir>', 'folder of secrets: <name>/<KEY> files or <name>.json', STORE_DEFAULTS.secrets)
    .option('--state <dir>', 'folder for status, logs and the scheduler state', STORE_DEFAULTS.state);
}

/** `local` (folders, restic on this machine) or `remote` (a deployed stack's stores). */
export type Mode = 'local' | 'remote';

/** What a command that works in one mode only says when the flags name the other. */
const ONLY_IN: Record<Mode, string> = {
  local: 'with --specs s3://... this command runs on AWS: add --remote',
  remote: "--remote needs --specs s3://bucket/prefix (the deployed stack's config bucket)",
};

/** Whether a `--specs`, `--secrets` or `--state` value names a store of the deployed stack (s3:// or sm://). */
function isRemote(value: string): boolean {
  return /^(s3|sm):\/\//.test(value);
}

function modeOf(o: StoreOptions): Mode {
  if (isRemote(o.specs)) return 'remote';
  if (isRemote(o.secrets) || isRemote(o.state)) throw usageError('--secrets sm:// and --state s3:// go with --specs s3://bucket/prefix');
  return 'local';
}

/**
 * The stores the flags name, in the mode they name: what both modes do, or with `only`, one
 * mode with what it adds (`LocalEngine` runs and schedules here, `RemoteStash` launches on
 * AWS); the other mode is then a usage error, before anything is read or the AWS SDK loaded.
 *
 * @example
 * const stash = await openStash(o, io);            // either mode: load, spec, status, snapshots, restore
 * await (await openStash(o, io, 'local')).tick();  // local mode only
 */
export async function openStash(o: StoreOptions, io: Io): Promise<Stash>;
export async function openStash(o: StoreOptions, io: Io, only: 'local'): Promise<LocalEngine>;
export async function openStash(o: StoreOptions, io: Io, only: 'remote'): Promise<RemoteStash>;
export async function openStash(o: StoreOptions, io: Io, only?: Mode): Promise<LocalEngine | RemoteStash> {
  const mode = modeOf(o);
  if (only && only !== mode) throw usageError(ONLY_IN[only]);
  if (mode === 'local') return new LocalEngine({ specs: [o.specs], secrets: o.secrets, state: o.state }, io);
  const { RemoteStash } = await import('./remote');
  return new RemoteStash({
    specs: o.specs,
    secrets: isRemote(o.secrets) ? o.secrets : undefined,
    state: isRemote(o.state) ? o.state : undefined,
    runLog: (name) => fileRunLog(isRemote(o.state) ? undefined : o.state, name, io),
  });
}
