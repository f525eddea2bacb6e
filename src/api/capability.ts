/**
 * An approved capability change, applied: the per-bottle Dockerfile (already
 * written by the approval) becomes the bottle's image; the running bottle is
 * replaced by one built from it, with the same identity, state and workspace,
 * and the agent finds a notice of what happened.
 */
import { PassThrough } from 'node:stream';
import { getBackend } from '../backends/index.js';
import { AGENT } from '../bottle/layout.js';
import { readMetadata } from '../bottle/state.js';
import { type Progress, silentProgress } from '../progress.js';
import type { Settings } from '../settings.js';
import { resume } from './manage.js';

export const NOTICE_FILE = AGENT.notice;

export async function rebuildAndResume(settings: Settings, identity: string, opts: { progress?: Progress; why: string }): Promise<{ identity: string; ms: number }> {
  const t0 = Date.now();
  const progress = opts.progress ?? silentProgress;
  const meta = await readMetadata(settings.home, identity);
  const backend = getBackend(settings, meta.backend);
  progress.step(`rebuilding ${identity} with its approved Dockerfile`);
  // The bottle is preserved, so this keeps its workspace and state.
  await backend.teardown(identity, { keepWorkspace: true });
  await resume(settings, identity, { progress, detach: true, headless: true });
  const notice = new PassThrough();
  notice.end(`${new Date().toISOString()} bot-bottle: this bottle was rebuilt and resumed after a capability change was approved (${opts.why}). Your workspace is intact; processes started before the change are gone.\n`);
  await backend.exec(identity, ['sh', '-c', `cat >> ${NOTICE_FILE}`], { stdin: notice, stdout: process.stderr, stderr: process.stderr, tty: false });
  return { identity, ms: Date.now() - t0 };
}
