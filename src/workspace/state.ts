/** What `--cwd` records for `export`: the commit the workspace started from. */
import { readFile } from 'node:fs/promises';
import { BottleState, writeSecretFile } from '../bottle/state.js';

export async function writeWorkspaceBase(home: string, identity: string, commit: string): Promise<void> {
  await writeSecretFile(new BottleState(home, identity).workspaceBaseFile, commit + '\n');
}

export async function readWorkspaceBase(home: string, identity: string): Promise<string | undefined> {
  try {
    const v = (await readFile(new BottleState(home, identity).workspaceBaseFile, 'utf8')).trim();
    return /^[0-9a-f]{40,64}$/.test(v) ? v : undefined;
  } catch {
    return undefined;
  }
}
