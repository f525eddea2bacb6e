import type { Command } from 'commander';
import { BottleError, serveEgress } from '../../index.js';
import type { CliContext } from '../context.js';

export interface EgressServeFlags {
  bottle: string;
  listen: string;
  caOut: string;
  audit?: string;
  workers?: string;
  proposals?: string;
}

/** `HOST:PORT` or `PORT` (loopback). */
export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):)?([0-9]{1,5})$/.exec(text.trim());
  const port = m === null ? NaN : Number(m[2]);
  if (m === null || !(port >= 0 && port <= 65535)) {
    throw new BottleError('usage', `--listen ${JSON.stringify(text)} is not HOST:PORT`, { fix: '--listen 127.0.0.1:18080' });
  }
  return { host: (m[1] ?? '127.0.0.1').replace(/^\[|\]$/g, ''), port };
}

function parseWorkers(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const workers = Number(text);
  if (!(Number.isInteger(workers) && workers >= 1 && workers <= 64)) throw new BottleError('usage', `--workers ${text} is not an integer 1-64`);
  return workers;
}

export function registerEgress(program: Command, ctx: () => CliContext): void {
  const egress = program.command('egress').description('the egress proxy, run on the host (benchmarks, policy debugging)');
  egress
    .command('serve')
    .description("run a bottle's egress proxy on this host until interrupted")
    .requiredOption('--bottle <name>', 'bottle whose egress routes, hosts and CA files to use')
    .requiredOption('--listen <host:port>', 'address to listen on, e.g. 127.0.0.1:18080')
    .requiredOption('--ca-out <file>', "where to write the proxy's CA certificate (trust it in the client)")
    .option('--audit <file>', 'append one JSON line per request here (default: a temporary file)')
    .option('--proposals <dir>', 'where DLP holds (on_match: supervise) write proposals (default: a temporary folder)')
    .option('--workers <n>', 'serving processes (default 1; more only pays with idle cores)')
    .addHelpText('after', '\nExample:\n  bot-bottle egress serve --bottle dev --listen 127.0.0.1:18080 --ca-out /tmp/egress-ca.pem\n  curl --proxy http://127.0.0.1:18080 --cacert /tmp/egress-ca.pem https://api.github.com/\n')
    .action(async (flags: EgressServeFlags) => {
      const c = ctx();
      const running = await serveEgress(c.settings, {
        bottle: flags.bottle,
        listen: parseListen(flags.listen),
        caOut: flags.caOut,
        workers: parseWorkers(flags.workers),
        ...(flags.audit === undefined ? {} : { audit: flags.audit }),
        ...(flags.proposals === undefined ? {} : { proposals: flags.proposals }),
        log: (line) => process.stderr.write(`${line}\n`),
      });
      const a = running.address;
      process.stdout.write(
        `egress proxy for bottle ${running.bottle} listening on ${a.address}:${a.port} (${running.pids().length} process(es), ${running.routes} route(s)); CA certificate in ${running.caCertOut}; pid ${process.pid}\n`,
      );
      await new Promise<void>((done) => {
        const stop = (): void => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          process.off('SIGHUP', reload);
          void running.close().finally(done);
        };
        const reload = (): void => running.reload();
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
        process.on('SIGHUP', reload);
      });
    });
}
