#!/usr/bin/env node
/**
 * The `bot-bottle` executable. `scan` runs in pre-push hooks and CI on every
 * push, so it starts from its own entry that loads only the scanner (no
 * engine client, MCP or certificate libraries): about a quarter of the
 * start-up of the whole program, and from one bundled file when the build
 * made it. Every other command is main.ts.
 */
import { existsSync } from 'node:fs';

// The build also bundles scan-main into one file (scripts/bundle-scan.mjs): no module resolution, one compile.
const bundled = new URL('./scan.bundle.js', import.meta.url);
if (process.argv[2] === 'scan') await import(existsSync(bundled) ? bundled.href : './scan-main.js');
else await import('./main.js');
