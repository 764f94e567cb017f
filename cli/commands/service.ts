/**
 * `stash service install`: keeps `stash run` going under systemd. Writes a unit that runs this
 * stash (by absolute path, with this Node.js) on the folders it was given, made absolute, and
 * says how to start it. systemd stops it with SIGTERM, on which `stash run` waits for running
 * backups to stop cleanly (restic releases its lock), within TimeoutStopSec.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { examples, usageError, type CommandContext } from '../command';
import { STORE_DEFAULTS, type StoreOptions } from '../mode';

/** `service install`'s options as commander gives them. */
export interface ServiceOptions extends StoreOptions {
  /** A user unit (`systemctl --user`) instead of a system one. */
  readonly user?: boolean;
  /** The unit's name, without `.service`. */
  readonly name: string;
  /** Where to write the unit. @default /etc/systemd/system, or ~/.config/systemd/user with --user */
  readonly unitDir?: string;
  /** Print the unit, write nothing. */
  readonly print?: boolean;
}

/** What the unit runs: this Node.js and this stash's bin, by absolute path. */
export interface ServiceCommand {
  readonly node: string;
  readonly bin: string;
  /** PATH for the service (restic must be on it). */
  readonly path: string;
  /** The restic binary, when set by STASH_RESTIC_BINARY. */
  readonly restic?: string;
}

/**
 * One argument of ExecStart, quoted as systemd reads it: in double quotes when it has a space
 * or a quote, with `\` and `"` escaped, `%` as `%%` (a specifier) and `$` as `$$` (a variable).
 */
export function systemdQuote(arg: string): string {
  const escaped = arg.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  return /[\s"'\\]/.test(escaped) ? `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"` : escaped;
}

/** The unit file for `stash run` on the stores `o` names (made absolute against `cwd`). */
export function serviceUnit(o: StoreOptions & { readonly user?: boolean }, command: ServiceCommand, cwd = process.cwd()): string {
  const specs = resolve(cwd, o.specs);
  const args = [command.node, command.bin, 'run', '--specs', specs, '--secrets', resolve(cwd, o.secrets), '--state', resolve(cwd, o.state)];
  const env = [`PATH=${command.path}`, ...(command.restic ? [`STASH_RESTIC_BINARY=${command.restic}`] : [])];
  return [
    '[Unit]',
    `Description=Stash: scheduled restic backups of the specs in ${specs}`,
    'After=network-online.target',
    'Wants=network-online.target',
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${args.map(systemdQuote).join(' ')}`,
    ...env.map((e) => `Environment=${systemdQuote(e)}`),
    // stash run stops on SIGTERM and waits for running backups, which stop restic cleanly.
    'KillMode=mixed',
    'TimeoutStopSec=60',
    'Restart=on-failure',
    'RestartSec=30',
    '',
    '[Install]',
    `WantedBy=${o.user ? 'default.target' : 'multi-user.target'}`,
    '',
  ].join('\n');
}

/** Adds `service install` to the program. */
export function registerService(program: Command, ctx: CommandContext): void {
  const service = program.command('service').description('keep `stash run` going as a systemd service');
  service
    .command('install')
    .description('write a systemd unit that runs `stash run` on these folders (made absolute), and say how to start it')
    .option('--specs <path>', 'folder or file of Restic specs', STORE_DEFAULTS.specs)
    .option('--secrets <dir>', 'folder of secrets', STORE_DEFAULTS.secrets)
    .option('--state <dir>', 'folder for status, logs and the scheduler state', STORE_DEFAULTS.state)
    .option('--user', 'a user service (systemctl --user) in ~/.config/systemd/user')
    .option('--name <name>', 'the unit name', 'stash')
    .option('--unit-dir <dir>', 'write the unit here instead')
    .option('--print', 'print the unit instead of writing it')
    .addHelpText(
      'after',
      examples(
        ['a system service on /srv/stash', 'stash service install --specs /srv/stash/specs --secrets /srv/stash/secrets --state /var/lib/stash'],
        ['see the unit first', 'stash service install --print'],
      ),
    )
    .action((o: ServiceOptions) => installService(ctx, o));
}

/** Writes (or prints) the unit and the commands that start it. */
export async function installService({ io }: CommandContext, o: ServiceOptions, command: ServiceCommand = thisStash()): Promise<void> {
  if (!/^[A-Za-z0-9:_.@-]+$/.test(o.name)) throw usageError(`--name: "${o.name}" is not a unit name (letters, digits, : _ . @ -)`);
  const unit = serviceUnit(o, command);
  if (o.print) {
    io.write(unit);
    return;
  }
  const dir = o.unitDir ?? (o.user ? join(homedir(), '.config/systemd/user') : '/etc/systemd/system');
  const file = join(dir, `${o.name}.service`);
  await mkdir(dir, { recursive: true });
  await writeFile(file, unit, { mode: 0o644 });
  const systemctl = o.user ? 'systemctl --user' : 'systemctl';
  io.line(`wrote ${file}; start it now and at every boot with:`);
  io.line(`  ${systemctl} daemon-reload && ${systemctl} enable --now ${o.name}`);
  io.line(`then: ${systemctl} status ${o.name}, journalctl ${o.user ? '--user ' : ''}-u ${o.name} -f`);
}

/** This process's Node.js and stash bin (the script it was started as). */
function thisStash(): ServiceCommand {
  const bin = process.argv[1] ? resolve(process.argv[1]) : '';
  if (!bin) throw usageError('cannot tell which stash is running: run it by its path (bin/stash.mjs) or as the installed `stash` command');
  return { node: process.execPath, bin, path: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin', restic: process.env.STASH_RESTIC_BINARY };
}
