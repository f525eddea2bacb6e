#!/usr/bin/env node
/**
 * The `bot-bottle` executable's program (bin/bot-bottle starts it). `scan`
 * runs in pre-push hooks and CI on every push, so it starts from its own
 * entry that loads only the scanner (no engine client, MCP or certificate
 * libraries): about a quarter of the start-up of the whole program, and from
 * one bundled file when the build made it. Every other command is main.ts.
 */
import { existsSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';

// The build also bundles scan-main into one file (scripts/bundle-scan.mjs): no module resolution, one compile.
const bundled = new URL('./scan.bundle.js', import.meta.url);
if (process.argv[2] === 'scan') {
  // A scan is a short process over a lot of text: with V8's defaults its optimising compiler spent more CPU
  // (on its background threads, competing with git for the cores) than the scan itself, recompiling big
  // inlined graphs of the rule loop. Tiering up later and without inlining cost a quarter less CPU on a
  // 200-commit push and a sixth less on one 83 MB commit (bench/scan/push.ts); set before the scanner loads.
  setFlagsFromString('--interrupt-budget=1000000 --no-turbo-inlining');
  await import(existsSync(bundled) ? bundled.href : './scan-main.js');
} else await import('./main.js');
