/**
 * Texts made of numbered lines, scanned as one text with each finding
 * attributed to the line it starts on.
 *
 * `AddedLines` places what one file gains in one commit: its text is made in
 * one piece (diff-bytes.ts), not a string per line (on a push of real code,
 * allocating and joining a string per line was a sixth of the scan), and line
 * numbers are worked out only for findings.
 */
import { scanText, type ScanOptions } from './scan.js';

const ALLOW_MARKERS = ['bot-bottle:allow', 'gitleaks:allow'];

export function hasAllowMarker(line: string): boolean {
  return ALLOW_MARKERS.some((m) => line.includes(m));
}

export type EmitFinding = (line: number, rule: string, redacted: string, allowed: boolean, via: string | undefined) => void;

export interface LineText {
  /** Line numbers, parallel to `lines`. */
  numbers: number[];
  lines: string[];
}

/** Scan lines (joined by newlines) and attribute each finding to the line where it starts. */
export function scanLines(src: LineText, opts: ScanOptions, emit: EmitFinding): void {
  if (src.lines.length === 0) return;
  const text = src.lines.join('\n');
  const findings = scanText(text, opts);
  if (findings.length === 0) return;
  const starts: number[] = [];
  let off = 0;
  for (const l of src.lines) {
    starts.push(off);
    off += l.length + 1;
  }
  for (const f of findings) {
    const first = lastAtOrBefore(starts, f.start);
    const last = lastAtOrBefore(starts, Math.max(f.start, f.end - 1));
    let allowed = false;
    for (let i = first; i <= last; i++) if (hasAllowMarker(src.lines[i] ?? '')) allowed = true;
    emit(src.numbers[first] ?? 0, f.rule, f.redacted, allowed, f.via);
  }
}

/** Index of the last element of ascending `xs` that is <= `x` (0 when none is). */
export function lastAtOrBefore(xs: readonly number[], x: number): number {
  let lo = 0;
  let hi = xs.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((xs[mid] ?? 0) <= x) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * Where the added lines of one file are in its text (its runs of consecutive
 * added lines joined by line breaks, gathered by diff-bytes.ts): the offset
 * and first line number of each run.
 */
export class AddedLines {
  /** Offset of each run in the joined text, and the line number of its first line. */
  private offsets: number[] = [];
  private firstLines: number[] = [];
  private length = 0;

  get empty(): boolean {
    return this.offsets.length === 0;
  }

  /** The next run: `length` characters (whole lines, no line break after the last), its first line `firstLine`. */
  add(length: number, firstLine: number): void {
    this.offsets.push(this.length);
    this.firstLines.push(firstLine);
    this.length += length + 1;
  }

  /** Scan `text` (the runs joined) and report each finding's line. */
  scan(text: string, opts: ScanOptions, emit: EmitFinding): void {
    for (const f of scanText(text, opts)) {
      const k = lastAtOrBefore(this.offsets, f.start);
      let line = this.firstLines[k] ?? 0;
      for (let nl = text.indexOf('\n', this.offsets[k] ?? 0); nl !== -1 && nl < f.start; nl = text.indexOf('\n', nl + 1)) line++;
      // Every line the finding touches may carry the marker.
      const from = f.start === 0 ? 0 : text.lastIndexOf('\n', f.start - 1) + 1;
      const to = text.indexOf('\n', Math.max(f.start, f.end - 1));
      emit(line, f.rule, f.redacted, hasAllowMarker(text.slice(from, to === -1 ? text.length : to)), f.via);
    }
  }
}
