/**
 * Route regexes (egress paths and header values) run on RE2's automaton, in
 * time linear in the input: one crafted request can never freeze the proxy
 * the way a backtracking engine does on `^/(a+)+$`. RE2 has no lookaround and
 * no backreferences; a pattern that needs them is refused when the manifest
 * is loaded, with the reason. Shared by validation (host) and the proxy's
 * policy (bundle), so what validates is exactly what runs.
 */
import { RE2JS } from 're2js';

export interface LinearRegex {
  /** True when the whole input matches. */
  test(input: string): boolean;
}

/** Compile `source` to match whole strings only (`^(?:source)$`). Throws a SyntaxError with RE2's reason. */
export function compileWhole(source: string): LinearRegex {
  let re: RE2JS;
  try {
    re = RE2JS.compile(`^(?:${source})$`);
  } catch (e) {
    throw new SyntaxError(e instanceof Error ? e.message.replace(/^error parsing regexp: /, '') : String(e));
  }
  return { test: (input) => re.matches(input) };
}

/** A problem sentence, or undefined when the pattern compiles for the linear-time engine. */
export function linearRegexProblem(source: string): string | undefined {
  try {
    compileWhole(source);
    return undefined;
  } catch (e) {
    // RE2 quotes the pattern (with our anchors around it) back: keep only the reason.
    const why = (e instanceof Error ? e.message : String(e)).replace(/: `[\s\S]*`$/, '');
    const unsupported = /unsupported|escape sequence|named capture/.test(why);
    return unsupported
      ? `regex does not compile: ${why}; route regexes run on a linear-time matcher (RE2 syntax), which has no lookaround and no backreferences`
      : `regex does not compile: ${why}`;
  }
}
