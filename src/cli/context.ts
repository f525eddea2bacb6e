import { readSettings, stderrProgress, type Progress, type Settings } from '../index.js';
import { colors, type Colors } from './output.js';

export interface CliContext {
  readonly settings: Settings;
  readonly c: Colors;
  progress(verbose?: boolean): Progress;
}

export function cliContext(): CliContext {
  const settings = readSettings();
  const stderrTty = process.stderr.isTTY === true && process.env.NO_COLOR === undefined;
  return {
    settings,
    c: colors(settings.tty),
    progress: (verbose = false) => stderrProgress({ verbose, color: stderrTty }),
  };
}
