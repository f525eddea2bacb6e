/**
 * `completion bash|zsh|fish`: a script generated from this very program's
 * commands and options, so it never falls out of date. Names that change
 * (identities, agents, bottles, proposal ids) come from the hidden
 * `__complete` command, which reads the home only: no engine round trip on
 * every Tab.
 */
import { Argument, type Command, Option } from 'commander';
import { knownIdentities, listAgents, listBottleManifests, listProposals } from '../../index.js';
import type { CliContext } from '../context.js';

const SHELLS = ['bash', 'zsh', 'fish'] as const;
type Shell = (typeof SHELLS)[number];

/** Which dynamic list a command's first argument takes. */
const FIRST_ARG: Readonly<Record<string, DynamicList>> = {
  exec: 'identities',
  stop: 'identities',
  resume: 'identities',
  commit: 'identities',
  logs: 'identities',
  export: 'identities',
  start: 'agents',
  approve: 'proposals',
  reject: 'proposals',
};
type DynamicList = 'identities' | 'agents' | 'bottles' | 'proposals';
/** Options whose value is a dynamic list. */
const OPTION_VALUES: Readonly<Record<string, DynamicList>> = { '--bottle': 'bottles' };

interface CommandInfo {
  readonly names: readonly string[];
  readonly description: string;
  readonly options: readonly { readonly flags: readonly string[]; readonly description: string; readonly choices: readonly string[] | undefined }[];
  readonly firstArg: DynamicList | 'shells' | undefined;
}

function describe(program: Command): CommandInfo[] {
  return program.commands
    .filter((cmd) => !cmd.name().startsWith('__'))
    .map((cmd) => ({
      names: [cmd.name(), ...cmd.aliases()],
      description: cmd.description().split(/[.;(]/)[0]?.trim() ?? '',
      options: [...cmd.options, new Option('-h, --help', 'display help')].map((o) => ({
        flags: [o.short, o.long].filter((f): f is string => f !== undefined),
        description: o.description,
        choices: o.argChoices,
      })),
      firstArg: cmd.name() === 'completion' ? 'shells' : FIRST_ARG[cmd.name()],
    }));
}

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

function bash(cmds: readonly CommandInfo[]): string {
  const names = cmds.flatMap((c) => c.names).join(' ');
  const optCases = cmds.map((c) => `    ${c.names.join('|')}) opts=${q(c.options.flatMap((o) => o.flags).join(' '))} ;;`).join('\n');
  const choiceCases = [
    ...new Map(cmds.flatMap((c) => c.options.filter((o) => o.choices).flatMap((o) => o.flags.filter((f) => f.startsWith('--')).map((f) => [f, o.choices ?? []] as const)))).entries(),
  ]
    .map(([flag, choices]) => `    ${flag}) COMPREPLY=($(compgen -W ${q(choices.join(' '))} -- "$cur")); return ;;`)
    .join('\n');
  const dynCases = Object.entries(OPTION_VALUES)
    .map(([flag, list]) => `    ${flag}) COMPREPLY=($(compgen -W "$(bot-bottle __complete ${list} 2>/dev/null)" -- "$cur")); return ;;`)
    .join('\n');
  const argCases = cmds
    .filter((c) => c.firstArg)
    .map((c) => `    ${c.names.join('|')}) ${c.firstArg === 'shells' ? `words='${SHELLS.join(' ')}'` : `words="$(bot-bottle __complete ${c.firstArg} 2>/dev/null)"`} ;;`)
    .join('\n');
  return `# bot-bottle completion for bash: eval "$(bot-bottle completion bash)" (e.g. in ~/.bashrc)
_bot_bottle() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}"
  local cmd="" npos=0 i
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "\${COMP_WORDS[i]}" in
      --) return ;;
      -*) ;;
      *) if [[ -z "$cmd" ]]; then cmd="\${COMP_WORDS[i]}"; else npos=$((npos + 1)); fi ;;
    esac
  done
  if [[ -z "$cmd" ]]; then
    COMPREPLY=($(compgen -W ${q(`${names} --help --version`)} -- "$cur"))
    return
  fi
  case "$prev" in
${choiceCases}
${dynCases}
  esac
  local opts="" words=""
  if [[ "$cur" == -* ]]; then
    case "$cmd" in
${optCases}
    esac
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    return
  fi
  [[ $npos -eq 0 ]] || return
  case "$cmd" in
${argCases}
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F _bot_bottle bot-bottle
`;
}

function zsh(cmds: readonly CommandInfo[]): string {
  const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/:/g, '\\:').replace(/'/g, `'\\''`);
  const described = cmds.flatMap((c) => c.names.map((n) => `    '${esc(n)}:${esc(c.description)}'`)).join('\n');
  const optCases = cmds.map((c) => `    ${c.names.join('|')}) opts=(${c.options.flatMap((o) => o.flags).map(q).join(' ')}) ;;`).join('\n');
  const choiceCases = cmds
    .flatMap((c) => c.options.filter((o) => o.choices).flatMap((o) => o.flags.filter((f) => f.startsWith('--')).map((f) => `    ${f}) compadd -- ${(o.choices ?? []).map(q).join(' ')}; return ;;`)))
    .filter((line, i, all) => all.indexOf(line) === i)
    .join('\n');
  const dynCases = Object.entries(OPTION_VALUES)
    .map(([flag, list]) => `    ${flag}) compadd -- \${(f)"$(bot-bottle __complete ${list} 2>/dev/null)"}; return ;;`)
    .join('\n');
  const argCases = cmds
    .filter((c) => c.firstArg)
    .map((c) => `    ${c.names.join('|')}) ${c.firstArg === 'shells' ? `compadd -- ${SHELLS.join(' ')}` : `compadd -- \${(f)"$(bot-bottle __complete ${c.firstArg} 2>/dev/null)"}`} ;;`)
    .join('\n');
  return `#compdef bot-bottle
# bot-bottle completion for zsh: eval "$(bot-bottle completion zsh)" after compinit (e.g. in ~/.zshrc)
_bot_bottle() {
  local -a commands opts
  commands=(
${described}
  )
  if (( CURRENT == 2 )); then
    _describe -t commands 'bot-bottle command' commands
    return
  fi
  local cmd=\${words[2]} i npos=0
  for (( i = 3; i < CURRENT; i++ )); do
    [[ \${words[i]} == -- ]] && return
    [[ \${words[i]} == -* ]] || npos=$((npos + 1))
  done
  case \${words[CURRENT-1]} in
${choiceCases}
${dynCases}
  esac
  if [[ $PREFIX == -* ]]; then
    case $cmd in
${optCases}
    esac
    compadd -- $opts
    return
  fi
  (( npos == 0 )) || return
  case $cmd in
${argCases}
  esac
}
compdef _bot_bottle bot-bottle
`;
}

function fish(cmds: readonly CommandInfo[]): string {
  const lines = ['# bot-bottle completion for fish: bot-bottle completion fish > ~/.config/fish/completions/bot-bottle.fish', 'complete -c bot-bottle -f'];
  for (const c of cmds) {
    for (const n of c.names) lines.push(`complete -c bot-bottle -n __fish_use_subcommand -a ${q(n)} -d ${q(c.description)}`);
    const when = `__fish_seen_subcommand_from ${c.names.join(' ')}`;
    for (const o of c.options) {
      const long = o.flags.find((f) => f.startsWith('--'))?.slice(2);
      const short = o.flags.find((f) => !f.startsWith('--'))?.slice(1);
      const parts = [`complete -c bot-bottle -n ${q(when)}`, long ? `-l ${long}` : '', short ? `-s ${short}` : '', `-d ${q(o.description)}`];
      if (o.choices) parts.push(`-x -a ${q(o.choices.join(' '))}`);
      const dyn = long ? OPTION_VALUES[`--${long}`] : undefined;
      if (dyn) parts.push(`-x -a '(bot-bottle __complete ${dyn} 2>/dev/null)'`);
      lines.push(parts.filter(Boolean).join(' '));
    }
    if (c.firstArg === 'shells') lines.push(`complete -c bot-bottle -n ${q(when)} -a ${q(SHELLS.join(' '))}`);
    else if (c.firstArg) lines.push(`complete -c bot-bottle -n ${q(`${when}; and test (count (commandline -opc)) -eq 2`)} -a '(bot-bottle __complete ${c.firstArg} 2>/dev/null)'`);
  }
  return lines.join('\n') + '\n';
}

export function completionScript(program: Command, shell: Shell): string {
  const cmds = describe(program);
  return shell === 'bash' ? bash(cmds) : shell === 'zsh' ? zsh(cmds) : fish(cmds);
}

export function registerCompletion(program: Command, ctx: () => CliContext): void {
  program
    .command('completion')
    .description('print the shell completion script for bash, zsh or fish')
    .addArgument(new Argument('<shell>', 'bash, zsh or fish').choices(SHELLS))
    .addHelpText(
      'after',
      '\nIdentities complete from this home (`bot-bottle list`), agents and bottles from their folders.\n\nExamples:\n  eval "$(bot-bottle completion bash)"\n  bot-bottle completion fish > ~/.config/fish/completions/bot-bottle.fish\n',
    )
    .action((shell: Shell) => {
      process.stdout.write(completionScript(program, shell));
    });

  program
    .command('__complete', { hidden: true })
    .argument('<list>', 'identities, agents, bottles or proposals')
    .action(async (list: string) => {
      const c = ctx();
      let names: string[] = [];
      if (list === 'identities') names = await knownIdentities(c.settings, { archived: true });
      else if (list === 'agents') names = (await listAgents(c.settings)).agents.map((a) => a.name);
      else if (list === 'bottles') names = (await listBottleManifests(c.settings)).map((b) => b.name);
      else if (list === 'proposals') names = (await listProposals(c.settings.home)).map((p) => p.proposal.id);
      process.stdout.write(names.map((n) => `${n}\n`).join(''));
    });
}
