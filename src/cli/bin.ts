#!/usr/bin/env node
/**
 * The `bot-bottle` executable's program (bin/bot-bottle starts it; for
 * `scan`, it starts dist/cli/scan.cjs directly). `scan` runs in pre-push
 * hooks and CI on every push, so it starts from its own entry that loads
 * only the scanner (no engine client, MCP or certificate libraries): about a
 * quarter of the start-up of the whole program, and from one bundled file
 * with its code cache when the build made them. Every other command is
 * main.ts.
 */
import { existsSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';

// The build bundles scan-main into one file (scripts/bundle-scan.mjs): no module resolution, one compile.
if (process.argv[2] === 'scan') {
  if (existsSync(new URL('./scan.bundle.cjs', import.meta.url))) await import('./scan-start.js');
  else {
    setFlagsFromString((await import('./scan-load.js')).SCAN_V8_FLAGS);
    await import('./scan-main.js');
  }
} else await import('./main.js');
