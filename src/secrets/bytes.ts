/** Scanning raw bytes: text as UTF-8, binary content through its printable strings. */
import { binaryStrings, isBinary } from './decoders.js';
import { scanText, type ScanOptions, type SecretFinding } from './scan.js';

/**
 * Scan a buffer. Text is decoded as UTF-8 and offsets are into that string;
 * binary content (a NUL in the first 8000 bytes) is scanned through its
 * printable strings, and offsets are into `binaryStrings(buf)`.
 */
export function scanBytes(buf: Uint8Array, opts: ScanOptions = {}): { binary: boolean; text: string; findings: SecretFinding[] } {
  const binary = isBinary(buf);
  const text = binary ? binaryStrings(buf) : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString('utf8');
  return { binary, text, findings: scanText(text, opts) };
}
