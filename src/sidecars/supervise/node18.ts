/**
 * Node 18 (Debian's, in the bundle) has Web Crypto only as `require('crypto').webcrypto`;
 * the MCP SDK calls the global `crypto.randomUUID()`. Give it one.
 */
import { webcrypto } from 'node:crypto';

const g = globalThis as { crypto?: unknown };
if (g.crypto === undefined) g.crypto = webcrypto;
