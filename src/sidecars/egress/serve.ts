/**
 * Bundle entry of the egress proxy: `node serve.js` with
 * BOT_BOTTLE_EGRESS_CONFIG naming the config file. Starts the proxy, writes
 * the CA certificate to `caCertOut`, logs one line once listening, reloads
 * routes on SIGHUP, stops on SIGTERM/SIGINT. A bad config is one line on
 * stderr and exit code 2. The same file is what the primary forks as its
 * workers (BOT_BOTTLE_EGRESS_WORKER=1).
 */
import { EGRESS_CONFIG_ENV, EgressConfigError } from './config.js';
import { runEgress, runWorker, WORKER_ENV } from './run.js';

const CONFIG_EXIT = 2;

function oneLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ');
}

const log = (line: string): void => void process.stderr.write(`${line}\n`);
const configPath = process.env[EGRESS_CONFIG_ENV];

if (configPath === undefined || configPath === '') {
  process.stderr.write(`bot-bottle egress: bad config: ${EGRESS_CONFIG_ENV} is not set\n`);
  process.exit(CONFIG_EXIT);
} else if (process.env[WORKER_ENV] === '1') {
  try {
    runWorker(configPath, log);
  } catch (err) {
    process.stderr.write(`bot-bottle egress worker: ${oneLine(err)}\n`);
    process.exit(CONFIG_EXIT);
  }
} else {
  runEgress({ configPath, workerEntry: process.argv[1], log }).then(
    (running) => {
      const a = running.address;
      process.stdout.write(
        `bot-bottle egress: listening on ${a.address}:${a.port} (${running.pids().length} process(es), ${running.proxy.routes.length} route(s)${running.config.caCertOut ? `, CA certificate in ${running.config.caCertOut}` : ''})\n`,
      );
      process.on('SIGHUP', () => running.reload());
      const stop = (): void => {
        running.close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
        setTimeout(() => process.exit(0), 3000).unref();
      };
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
    },
    (err: unknown) => {
      const bad = err instanceof EgressConfigError;
      process.stderr.write(`bot-bottle egress: ${bad ? 'bad config: ' : ''}${oneLine(err)}\n`);
      process.exit(bad ? CONFIG_EXIT : 1);
    },
  );
}
