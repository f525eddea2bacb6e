/**
 * The image chain shared by the templates: `images/node` (Node.js and npm
 * from the registry, for build stages) and `images/agent-shell` (the agent
 * user, /workspace, the tools). Provider images name them as build args, so
 * each is built once per host and cached by content.
 */
import { join } from 'node:path';
import { packageRoot } from '../paths.js';
import type { ImageSpec } from './types.js';
import { VERSIONS } from './versions.js';

const imagesDir = (name: string): string => join(packageRoot(), 'images', name);

/** Build-stage image with Node.js and npm from the npm registry. */
export function nodeImage(): ImageSpec {
  return {
    repository: 'bot-bottle/node',
    dir: imagesDir('node'),
    dockerfile: 'Dockerfile',
    buildArgs: {
      NODE_VERSION: VERSIONS.node.version,
      NODE_SHA512: VERSIONS.node.sha512,
      NPM_VERSION: VERSIONS.npm.version,
      NPM_SHA512: VERSIONS.npm.sha512,
    },
    bases: {},
  };
}

/** The shell provider's image, the base of the others. */
export function shellImage(): ImageSpec {
  return { repository: 'bot-bottle/agent-shell', dir: imagesDir('agent-shell'), dockerfile: 'Dockerfile', buildArgs: {}, bases: {} };
}

/** A template image built FROM the shell image, with a Node build stage. */
export function templateImage(name: string, buildArgs: Record<string, string>): ImageSpec {
  return {
    repository: `bot-bottle/agent-${name}`,
    dir: imagesDir(`agent-${name}`),
    dockerfile: 'Dockerfile',
    buildArgs,
    bases: { NODE_IMAGE: nodeImage(), AGENT_BASE: shellImage() },
  };
}
