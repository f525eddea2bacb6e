/** `demo`, loaded on use: its certificate and upstream code is heavy for every other command. */
import type { BackendName } from '../bottle/spec.js';
import type { Progress } from '../progress.js';
import type { Settings } from '../settings.js';
import type { DemoStep } from '../demo/run.js';

export type { DemoStep } from '../demo/run.js';

export async function runDemo(settings: Settings, progress: Progress, report: (step: DemoStep) => void, backend: BackendName = 'docker'): Promise<{ identity: string; steps: DemoStep[] }> {
  return (await import('../demo/run.js')).runDemo(settings, progress, report, backend);
}
