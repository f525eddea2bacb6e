import { resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { BACKENDS, BottleError, listAgents, listBottleManifests, runSession, start, type BackendName, type BottleSpec, type Started } from '../../index.js';
import { askSecret, pick } from '../ask.js';
import type { CliContext } from '../context.js';
import { COLOR_NAMES, printJson } from '../output.js';
import { attachSession } from '../session.js';

interface StartFlags {
  backend: BackendName;
  bottle: string[];
  label?: string;
  color?: string;
  cwd?: string | boolean;
  dryRun?: boolean;
  headless?: boolean;
  prompt?: string;
  outputFormat?: string;
  allowSecrets?: boolean;
  includeIgnored?: boolean;
  detach?: boolean;
  json?: boolean;
  verbose?: boolean;
}

export function registerStart(program: Command, ctx: () => CliContext): void {
  program
    .command('start')
    .description('launch a bottle (without an agent name: pick agent, bottles and backend)')
    .argument('[agent]', 'agent name (a file in ~/.bot-bottle/agents/ or ./.bot-bottle/agents/)')
    .addOption(new Option('--backend <name>', 'where the bottle runs').choices([...BACKENDS]).default('docker'))
    .option('--bottle <name>', 'bottle to use (repeatable; merged in order)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--label <text>', 'a label shown by `list`')
    .addOption(new Option('--color <name>', 'colour of the label').choices(COLOR_NAMES))
    .option('--cwd [dir]', "copy a folder (default: the current one) into the bottle's workspace")
    .option('--dry-run', 'print the resolved plan and create nothing')
    .option('--headless', 'no pickers and no questions (for scripts and orchestrators)')
    .option('--prompt <text>', 'headless prompt (claude -p, codex exec; the shell provider runs it as a script)')
    .option('--output-format <format>', "headless output of the agent's client, e.g. json or stream-json (claude, codex)")
    .option('--allow-secrets', '--cwd: copy even files the secret scanner flags')
    .option('--include-ignored', '--cwd: also copy files .gitignore ignores')
    .option('--detach', 'return once the bottle is ready; it runs until `bot-bottle stop`')
    .option('--json', 'print a JSON object (identity, plan) on stdout')
    .option('--verbose', 'show image build output')
    .addHelpText('after', '\nExamples:\n  bot-bottle start dev --detach --json\n  bot-bottle start dev --headless --prompt "git status"\n  bot-bottle start claude-dev --headless --prompt "fix the failing test" --output-format json\n  bot-bottle start claude-dev --cwd . --label "bug 123" --color cyan\n  bot-bottle start dev --dry-run\n')
    .action(async (agentArg: string | undefined, flags: StartFlags) => {
      const c = ctx();
      if (flags.detach && flags.prompt !== undefined) {
        throw new BottleError('usage', '--prompt runs in an attached session; a detached bottle has no session to run it in', {
          fix: 'start with --detach, then: bot-bottle exec IDENTITY -- bash -c "…"',
        });
      }
      const headless = flags.headless === true || flags.prompt !== undefined;
      let agent = agentArg;
      let bottles = flags.bottle;
      let backend = flags.backend;
      if (!agent) {
        if (headless) throw new BottleError('usage', 'headless start needs an agent name', { fix: 'bot-bottle start AGENT --headless --prompt ...' });
        const { agents } = await listAgents(c.settings);
        [agent] = await pick('agent:', agents.map((a) => ({ value: a.name, label: a.description ? `${a.name} — ${a.description}` : a.name })));
        if (bottles.length === 0) {
          const chosen = agents.find((a) => a.name === agent);
          if (!chosen || chosen.bottles.length === 0) {
            const all = await listBottleManifests(c.settings);
            bottles = await pick('bottles:', all.map((b) => ({ value: b.name, label: b.name })), { multiple: true });
          }
        }
        if (BACKENDS.length > 1) [backend] = (await pick('backend:', BACKENDS.map((b) => ({ value: b, label: b })))) as BackendName[];
      }
      const spec: BottleSpec = {
        agent: agent,
        bottles,
        backend,
        copyCwd: flags.cwd === undefined ? undefined : resolve(c.settings.cwd, typeof flags.cwd === 'string' ? flags.cwd : '.'),
        label: flags.label,
        color: flags.color,
        identity: undefined,
        headless,
        prompt: flags.prompt,
        outputFormat: flags.outputFormat,
        allowSecrets: flags.allowSecrets === true,
        includeIgnored: flags.includeIgnored === true,
      };
      const progress = c.progress(flags.verbose);
      const started: Started = await start(c.settings, spec, { progress, ask: askSecret, dryRun: flags.dryRun, detach: flags.detach });
      if (flags.dryRun) {
        if (flags.json) printJson({ identity: started.identity, dry_run: true, plan: started.plan });
        else process.stdout.write(`plan for ${started.identity} (nothing created):\n${JSON.stringify(started.plan, null, 2)}\n`);
        return;
      }
      if (flags.detach) {
        if (flags.json) printJson({ identity: started.identity, status: 'ready', plan: started.plan });
        else process.stdout.write(`${started.identity}\n`);
        progress.step(`ready: bot-bottle exec ${started.identity} -- bash   |   bot-bottle stop ${started.identity}`);
        return;
      }
      if (flags.json) printJson({ identity: started.identity, status: 'ready' });
      progress.step(`ready: ${started.identity}${spec.prompt === undefined ? ' (exit the shell to end the session)' : ''}`);
      process.exitCode = await attachSession(c.settings, started, (io) => runSession(c.settings, started, spec.prompt, io));
    });
}
