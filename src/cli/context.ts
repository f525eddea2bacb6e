import { stderrProgress, type Progress } from '../progress.js';
import { readSettings, type Settings } from '../settings.js';
import { colorFor, colors, type Colors } from './output.js';

export interface CliContext {
  readonly settings: Settings;
  /** Colours for stdout. */
  readonly c: Colors;
  /** Colours for stderr (errors, progress, warnings): decided by stderr's own terminal. */
  readonly e: Colors;
  progress(verbose?: boolean): Progress;
}

export function cliContext(): CliContext {
  const settings = readSettings();
  const errColor = colorFor(process.stderr, settings.hostEnv);
  return {
    settings,
    c: colors(colorFor(process.stdout, settings.hostEnv)),
    e: colors(errColor),
    progress: (verbose = false) => stderrProgress({ verbose, color: errColor }),
  };
}
