import { getBackend } from '../backends/index.js';
import type { DoctorCheck } from '../bottle/backend.js';
import { BACKENDS } from '../bottle/spec.js';
import type { Settings } from '../settings.js';

export async function doctor(settings: Settings, opts: { network: boolean }): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  for (const b of BACKENDS) checks.push(...(await getBackend(settings, b).doctor(opts)));
  return checks;
}
