#!/usr/bin/env node
/**
 * The `bot-bottle` executable. `scan` runs in pre-push hooks and CI on every
 * push, so it starts from its own entry that loads only the scanner (no
 * engine client, MCP or certificate libraries): about a quarter of the
 * start-up of the whole program. Every other command is main.ts.
 */
if (process.argv[2] === 'scan') await import('./scan-main.js');
else await import('./main.js');
