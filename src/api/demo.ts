/** `demo`, loaded on use: its certificate and upstream code is heavy for every other command. */
import type { BackendName } from '../bottle/spec.js';
import type { Progress } from '../progress.js';
import type { Settings } from '../settings.js';
import type { DemoStep } from '../demo/run.js';

export type { DemoStep } from '../demo/run.js';

/** `signal` (Ctrl-C) removes everything the demo made, then rejects with its reason. */
export async function runDemo(
  settings: Settings,
  progress: Progress,
  report: (step: DemoStep) => void,
  backend: BackendName = 'docker',
  signal?: AbortSignal,
): Promise<{ identity: string; steps: DemoStep[] }> {
  return (await import('../demo/run.js')).runDemo(settings, progress, report, backend, signal);
}
