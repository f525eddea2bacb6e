/**
 * `bot-bottle dashboard`: serve the web page on loopback until interrupted.
 * Prints the URL (with its token) or, with --json, one line {"url": …};
 * opens a browser when there is one, through a file that forwards to the
 * URL, so the token never appears on a command line.
 */
import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import { DEFAULT_LISTEN, hostPort, parseListen, startDashboard, writeOpener } from '../../dashboard/index.js';
import type { CliContext } from '../context.js';

interface Flags {
  listen: string;
  open: boolean;
  json?: boolean;
  newToken?: boolean;
}

export function registerDashboard(program: Command, ctx: () => CliContext): void {
  program
    .command('dashboard')
    .description('the local web page: every bottle, its live egress, pushes and proposals to approve or reject')
    .option('--listen <host:port>', 'loopback address to serve on (port 0: any free port)', hostPort(DEFAULT_LISTEN))
    .option('--no-open', 'do not open a browser')
    .option('--json', 'print {"url": "…"} on one line, then keep serving until interrupted')
    .option('--new-token', 'mint a new token: pages opened before are signed out')
    .addHelpText(
      'after',
      '\nThe URL carries a token; the page keeps it in a cookie. Open pages reconnect by\nthemselves when the dashboard restarts on the same address.\n\nExamples:\n  bot-bottle dashboard\n  bot-bottle dashboard --listen 127.0.0.1:0 --no-open --json\n',
    )
    .action(async (flags: Flags) => {
      const c = ctx();
      const listen = parseListen(flags.listen);
      const say = (line: string) => process.stderr.write(`${c.c.dim(new Date().toLocaleTimeString([], { hour12: false }))} ${line}\n`);
      const dash = await startDashboard(c.settings, { listen, newToken: flags.newToken === true, log: say });
      if (flags.json) {
        process.stdout.write(JSON.stringify({ url: dash.url }) + '\n');
      } else {
        process.stdout.write(`${c.c.bold('bot-bottle dashboard')}: ${dash.url}\n`);
        process.stderr.write(c.c.dim(`serving ${c.settings.home} on ${hostPort(dash.address)}; Ctrl-C to stop\n`));
        if (flags.open) {
          const opener = browserCommand(c.settings.hostEnv);
          if (opener) openFile(opener, await writeOpener(c.settings.home, dash.url));
          else process.stderr.write(c.c.dim('no desktop browser here: open the URL above\n'));
        }
      }
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await dash.close();
    });
}

/** The desktop's "open this" command, when this machine has a desktop. */
function browserCommand(env: Readonly<Record<string, string>>): string | undefined {
  if (process.platform === 'darwin') return 'open';
  if (process.platform === 'win32') return undefined;
  return env.DISPLAY || env.WAYLAND_DISPLAY ? 'xdg-open' : undefined;
}

function openFile(cmd: string, file: string): void {
  // Best effort: the URL is printed above whatever happens here.
  const child = spawn(cmd, [file], { detached: true, stdio: 'ignore' });
  child.on('error', () => undefined);
  child.unref();
}
