import { resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { BACKENDS, BottleError, listAgents, listBottleManifests, list, planBottle, runSession, start, type BackendName, type BottleSpec, type PlanReport, type SessionIO, type Started } from '../../index.js';
import { askSecret, pick } from '../ask.js';
import type { CliContext } from '../context.js';
import { COLOR_NAMES, printJson } from '../output.js';
import { interruptible } from '../interrupt.js';
import { attachSession } from '../session.js';

interface StartFlags {
  backend?: BackendName;
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
    .addOption(new Option('--backend <name>', "where the bottle runs (default: the bottle's `backend:`, else docker)").choices([...BACKENDS]))
    .option('--bottle <name>', 'bottle to use (repeatable; merged in order)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--label <text>', 'a label shown by `list`')
    .addOption(new Option('--color <name>', 'colour of the label').choices(COLOR_NAMES))
    .option('--cwd [dir]', "copy a folder (default: the current one) into the bottle's workspace")
    .option('--dry-run', 'print the resolved plan and the secrets a launch will need; create nothing, ask for nothing')
    .option('--headless', 'no pickers and no questions (for scripts and orchestrators)')
    .option('--prompt <text>', 'headless prompt (claude -p, codex exec; the shell provider runs it as a script)')
    .option('--output-format <format>', "headless output of the agent's client, e.g. json or stream-json (claude, codex)")
    .option('--allow-secrets', '--cwd: copy even files the secret scanner flags')
    .option('--include-ignored', '--cwd: also copy files .gitignore ignores')
    .option('--detach', 'return once the bottle is ready; it runs until `bot-bottle stop`')
    .option('--json', 'print one JSON object on stdout (with a session: at its end, with the exit code; the agent\'s output goes to stderr)')
    .option('--verbose', 'show image build output')
    .addHelpText('after', '\nExit code: with a session, the agent\'s own (see the README for the rest).\n\nExamples:\n  bot-bottle start dev --detach --json\n  bot-bottle start dev --headless --prompt "ls -la /workspace"\n  bot-bottle start claude-dev --headless --prompt "fix the failing test" --output-format json\n  bot-bottle start claude-dev --cwd . --label "bug 123" --color cyan\n  bot-bottle start dev --dry-run\n  bot-bottle start dev --backend microvm --detach   # the agent in a micro-VM with its own kernel\n')
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
        if (backend === undefined && BACKENDS.length > 1) [backend] = (await pick('backend:', BACKENDS.map((b) => ({ value: b, label: b })))) as BackendName[];
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
      progress.detail('bot-bottle loaded');
      if (flags.dryRun) {
        // Planning asks for nothing: the secrets are listed with where they will come from.
        const report = await planBottle(c.settings, spec, { progress });
        if (flags.json) printJson({ identity: report.identity, dry_run: true, needs: report.needs, plan: report.plan });
        else process.stdout.write(planText(report, c));
        return;
      }
      const started: Started = await interruptible((signal) => start(c.settings, spec, { progress, ask: askSecret, detach: flags.detach, signal }));
      if (flags.detach) {
        if (flags.json) printJson({ identity: started.identity, status: 'ready', plan: started.plan });
        else process.stdout.write(`${started.identity}\n`);
        progress.step(`ready: bot-bottle exec ${started.identity} -- bash   |   bot-bottle stop ${started.identity}`);
        return;
      }
      progress.step(`ready: ${started.identity}${spec.prompt === undefined ? ` (exit the shell to end the session and remove the bottle; to keep it: bot-bottle commit ${started.identity} from another terminal)` : ''}`);
      const code = await attachSession(c.settings, started, (io) => runSession(c.settings, started, spec.prompt, sessionIO(io, flags.json === true)));
      await sessionEnded(c, started.identity, code, flags.json === true, {});
    });
}

/** With `--json`, stdout carries one JSON document: the agent's output goes to stderr. */
export function sessionIO(io: SessionIO, json: boolean): SessionIO {
  return json ? { ...io, stdout: io.stderr } : io;
}

/** After an attached session: its exit code, the JSON document, and how to get back to a kept bottle. */
export async function sessionEnded(c: CliContext, identity: string, code: number, json: boolean, extra: Record<string, unknown>): Promise<void> {
  process.exitCode = code;
  const listed = await list(c.settings).catch(() => []);
  const preserved = listed.find((b) => b.identity === identity)?.status === 'preserved';
  if (json) printJson({ identity, exit_code: code, preserved, ...extra });
  else if (preserved) c.progress().step(`${identity} is preserved: bot-bottle resume ${identity} continues it, bot-bottle stop ${identity} removes it`);
}

function planText(r: PlanReport, c: CliContext): string {
  const lines = [`plan for ${r.identity} (nothing created, no secret asked for):`, JSON.stringify(r.plan, null, 2)];
  if (r.needs.length === 0) lines.push('needs no secret at launch');
  else {
    lines.push('needs at launch:');
    for (const n of r.needs) {
      const from = n.source === 'host_variable' ? `host variable ${n.from}` : n.source === 'file' ? `file ${n.from}` : `typed at launch ("${n.from}")`;
      const state = n.available === null ? '' : n.available ? c.c.green(' (set)') : n.required ? c.c.red(' (missing)') : c.c.yellow(' (missing, optional)');
      lines.push(`  ${n.key}: ${from}${state}`);
    }
  }
  return lines.join('\n') + '\n';
}
