/**
 * What a backend whose agent is not a container (the micro-VM) needs from the
 * container engine: the agent image turned into a disk, the image's run
 * settings, and the guest's own binary built from a recipe. Implemented by the
 * Docker backend; the backend registry hands it over, so no backend imports
 * another.
 */
import type { Progress } from '../progress.js';
import type { ExecIO } from './backend.js';

export interface ImageRunConfig {
  /** Engine image id (content address): disks are cached by it. */
  readonly id: string;
  /** The image's ENV, `NAME=value`. */
  readonly env: readonly string[];
  /** The image's USER ('' = root). */
  readonly user: string;
  readonly workdir: string;
}

export interface GuestImages {
  /** Does the engine still hold this image (id, short id or reference)? */
  imageExists(image: string): Promise<boolean>;
  /** The run settings of an image. */
  imageConfig(image: string): Promise<ImageRunConfig>;
  /**
   * Write the image's file system as an ext4 disk image at `outFile` (sparse,
   * `sizeMiB` big), ownership and modes kept, readable by the invoking user.
   */
  exportDisk(image: string, outFile: string, sizeMiB: number, progress: Progress): Promise<void>;
  /**
   * Run a command over the files of an ext4 disk (a micro-VM's kept
   * workspace) at the agent's workspace path, in a throwaway sandbox of our
   * own: read-only disk, never mounted on the host, no network.
   */
  execOverDisk(disk: string, argv: readonly string[], io: ExecIO): Promise<number>;
  /** Build (cached by content) the image of `images/<dir>/` and read one file out of it. */
  readBuiltFile(dir: string, repository: string, path: string, progress: Progress): Promise<{ image: string; content: Buffer }>;
}
