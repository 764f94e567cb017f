/**
 * `stash completion bash|zsh|fish`: a completion script for the shell, generated from the
 * command tree (every command, its options and their descriptions), so it never lags behind.
 *
 * Generated here rather than by a library: commander has no completion of its own, and the
 * libraries that add it (tabtab, omelette) install hooks into the shell's startup files and
 * start Node at every Tab to answer; a static script from the tree needs neither.
 */
import type { Command, Option } from 'commander';
import { examples, usageError, type CommandContext } from '../command';

/** The shells `completion` writes for. */
export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

/** Options whose value is a file or folder. */
const PATH_VALUES = /^--(specs|secrets|state|target|unit-dir)$/;

interface Flag {
  readonly long?: string;
  readonly short?: string;
  readonly description: string;
  readonly takesValue: boolean;
  readonly path: boolean;
}

interface Sub {
  readonly name: string;
  readonly description: string;
  readonly flags: readonly Flag[];
}

function flagsOf(options: readonly Option[]): Flag[] {
  return options
    .filter((o) => !o.hidden)
    .map((o) => ({ long: o.long, short: o.short, description: o.description, takesValue: o.required || o.optional, path: !!o.long && PATH_VALUES.test(o.long) }));
}

/** The tree as completion needs it: the program's global flags and each command's (with `--help`). */
function treeOf(program: Command): { globals: Flag[]; subs: Sub[] } {
  const help: Flag = { long: '--help', short: '-h', description: 'display help', takesValue: false, path: false };
  const globals = [...flagsOf(program.options), help];
  const subs = program.commands.map((c) => ({ name: c.name(), description: c.description(), flags: [...flagsOf(c.options), ...globals] }));
  return { globals, subs };
}

const names = (f: Flag) => [f.long, f.short].filter((n): n is string => !!n);
const single = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;

function bash(program: Command): string {
  const { globals, subs } = treeOf(program);
  const cases = subs.map((s) => `    ${s.name}) opts=${single(s.flags.flatMap(names).join(' '))} ;;`).join('\n');
  const pathFlags = [...new Set([...globals, ...subs.flatMap((s) => s.flags)].filter((f) => f.path).flatMap(names))].join('|');
  return `# bash completion for stash (stash completion bash). Load it with:
#   source <(stash completion bash)        or save it in /etc/bash_completion.d/stash
_stash() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" cmd="" opts="" i
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "\${COMP_WORDS[i]}" in -*) ;; *) cmd="\${COMP_WORDS[i]}"; break ;; esac
  done
  if [[ -z "$cmd" ]]; then
    COMPREPLY=($(compgen -W ${single([...subs.map((s) => s.name), ...globals.flatMap(names)].join(' '))} -- "$cur"))
    return
  fi
  case "$prev" in
    ${pathFlags || '--none'}) COMPREPLY=($(compgen -f -- "$cur")); return ;;
  esac
  case "$cmd" in
${cases}
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
complete -F _stash stash
`;
}

function zsh(program: Command): string {
  const { subs } = treeOf(program);
  const bracket = (t: string) => t.replace(/[[\]:\\']/g, (c) => (c === "'" ? `'\\''` : `\\${c}`));
  const spec = (f: Flag) => {
    const value = f.takesValue ? `:${f.long?.slice(2) ?? 'value'}:${f.path ? '_files' : ' '}` : '';
    const all = names(f);
    const exclusive = all.length > 1 ? `(${all.join(' ')})` : '';
    return all.length > 1 ? `'${exclusive}'{${all.join(',')}}'[${bracket(f.description)}]${value}'` : `'${all[0]}[${bracket(f.description)}]${value}'`;
  };
  const cases = subs.map((s) => `    ${s.name})\n      _arguments -s ${s.flags.map(spec).join(' \\\n        ')} '*:file:_files' ;;`).join('\n');
  return `#compdef stash
# zsh completion for stash (stash completion zsh). Load it with:
#   source <(stash completion zsh)         or save it as _stash in a folder of $fpath
_stash() {
  local -a commands
  commands=(
${subs.map((s) => `    ${single(`${s.name}:${s.description.replace(/:/g, '\\:')}`)}`).join('\n')}
  )
  if (( CURRENT == 2 )); then
    _describe 'command' commands
    return
  fi
  case $words[2] in
${cases}
  esac
}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then _stash "$@"; else compdef _stash stash; fi
`;
}

function fish(program: Command): string {
  const { globals, subs } = treeOf(program);
  const lines = ['# fish completion for stash (stash completion fish). Load it with:', '#   stash completion fish | source      or save it as ~/.config/fish/completions/stash.fish', 'complete -c stash -f'];
  for (const s of subs) lines.push(`complete -c stash -n __fish_use_subcommand -a ${s.name} -d ${single(s.description)}`);
  const flag = (f: Flag, condition: string) =>
    `complete -c stash -n ${single(condition)}${f.long ? ` -l ${f.long.slice(2)}` : ''}${f.short ? ` -s ${f.short.slice(1)}` : ''}${f.takesValue ? (f.path ? ' -r -F' : ' -r') : ''} -d ${single(f.description)}`;
  for (const f of globals) lines.push(flag(f, '__fish_use_subcommand'));
  for (const s of subs) for (const f of s.flags) lines.push(flag(f, `__fish_seen_subcommand_from ${s.name}`));
  return `${lines.join('\n')}\n`;
}

/** The completion script for `shell`, from the program's command tree. */
export function completionScript(program: Command, shell: Shell): string {
  return { bash, zsh, fish }[shell](program);
}

/** Adds `completion` to the program. */
export function registerCompletion(program: Command, ctx: CommandContext): void {
  program
    .command('completion')
    .description('print a completion script for bash, zsh or fish')
    .argument('<shell>', SHELLS.join(', '))
    .addHelpText(
      'after',
      examples(
        ['this bash session', 'source <(stash completion bash)'],
        ['every zsh session', 'stash completion zsh > "${fpath[1]}/_stash"'],
        ['fish', 'stash completion fish > ~/.config/fish/completions/stash.fish'],
      ),
    )
    .action((shell: string) => {
      if (!(SHELLS as readonly string[]).includes(shell)) throw usageError(`completion: no script for "${shell}": one of ${SHELLS.join(', ')}`);
      ctx.io.write(completionScript(program, shell as Shell));
    });
}
