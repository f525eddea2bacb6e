/**
 * Prompt-injection heuristics over text an agent is about to read: an egress
 * response (`dlp.inbound`) or what the git-gate serves on a fetch. Reports
 * only; the caller decides (warn, hold, block, log).
 */
/**
 * Prompt-injection heuristics, by family. Each needs a combination (an
 * override verb AND a reference to instructions; an authority marker at the
 * start of a line; a hidden block AND instruction words), so documentation
 * that merely says "ignore", "override" or "execute" stays clean.
 */
const OVERRIDE =
  /\b(?:ignore|disregard|forget|override|bypass|skip)\s+(?:all\s+|any\s+|every\s+)?(?:of\s+)?(?:the\s+|your\s+|my\s+|these\s+|those\s+)?(?:previous|prior|above|earlier|preceding|original|initial|system|safety|existing)\s+(?:instructions?|prompts?|directions?|rules|context|guidelines|guardrails|constraints)/i;
const INJECTION: readonly (readonly [string, RegExp])[] = [
  ['ignore-previous-instructions', OVERRIDE],
  ['do-not-follow', /\bdo\s+not\s+(?:follow|obey)\s+(?:the\s+|your\s+|any\s+)?(?:previous|prior|original|system|user'?s?)\s+(?:instructions|prompt|rules)/i],
  ['you-are-now', /\byou\s+are\s+now\s+(?:a|an|in|the|DAN|no\s+longer)\b/i],
  ['from-now-on', /\bfrom\s+now\s+on,?\s+(?:you|the\s+(?:assistant|agent|model))\s+(?:will|must|shall|should|are)\b/i],
  ['system-prompt', /\b(?:reveal|print|show|repeat|output|leak)\s+(?:your|the)\s+(?:system\s+prompt|hidden\s+instructions|initial\s+instructions)/i],
  ['new-instructions', /\b(?:new|updated|revised|real|actual)\s+instructions\s*:/i],
  ['authority-impersonation', /(?:^|\n)\s*(?:\[\s*(?:SYSTEM|ADMIN|DEVELOPER)(?:\s+(?:OVERRIDE|MESSAGE|NOTE))?\s*\]|<\|im_start\|>\s*system|<\/?system>|#{2,}\s*(?:system|instruction)s?\s*:|(?:SYSTEM|ADMIN)\s+(?:OVERRIDE|MESSAGE)\s*:)/i],
  ['authority-impersonation', /\b(?:message|instructions?|note)\s+(?:from|by)\s+(?:the\s+)?(?:system\s+administrator|developers?\s+of\s+(?:this|the)\s+(?:assistant|agent|model)|anthropic|openai)\s*:/i],
  ['authority-impersonation', /\b(?:developer|admin|god|jailbreak|DAN)\s+mode\s+(?:enabled|activated|on)\b/i],
  ['tool-call-bait', /\b(?:call|invoke|use|run|execute)\s+(?:the\s+)?[`'"]?(?:bash|shell|terminal|exec|run_command|computer|write_file|str_replace_editor|fetch|web_fetch)[`'"]?\s+(?:tool|function|command)\b/i],
  ['tool-call-bait', /<(?:tool_call|function_calls|invoke\s+name=|tool_use)\b/i],
  ['tool-call-bait', /\b(?:curl|wget)\s+[^\n|]{1,200}\|\s*(?:ba|z)?sh\b/i],
  ['exfiltration-request', /\b(?:send|post|upload|forward|exfiltrate|append)\s+(?:the\s+|your\s+|all\s+(?:of\s+)?(?:the\s+)?)?(?:api[\s_-]?keys?|tokens?|credentials|secrets|environment(?:\s+variables)?|env\s+vars|\.env|ssh\s+keys?|conversation|chat\s+history)\b[^\n]{0,120}?\b(?:to|into)\s+(?:https?:\/\/|this\s+(?:url|endpoint|address)|the\s+(?:url|endpoint|webhook))/i],
  ['hidden-html-comment', /<!--(?:(?!-->)[\s\S]){0,4000}?\b(?:ignore|instructions?|assistant|AI\s+agent|you\s+must|execute|system\s+prompt)\b(?:(?!-->)[\s\S]){0,4000}?-->/i],
  ['hidden-css-text', /<[a-z]+[^>]{0,200}style\s*=\s*["'][^"']{0,200}(?:display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0|color\s*:\s*(?:white|#fff(?:fff)?)\b)[^>]{0,200}>[^<]{0,2000}\b(?:ignore|instructions?|assistant|you\s+must|execute)\b/i],
  ['hidden-markdown-comment', /(?:^|\n)\s*\[\/\/\]\s*:\s*#\s*\([^)\n]{0,2000}\b(?:ignore|instructions?|assistant|you\s+must|execute)\b/i],
  ['unicode-tags', /[\u{E0000}-\u{E007F}]/u],
  ['zero-width-run', /[\u200B-\u200F\u2060-\u2064\uFEFF]{4,}/],
];

/** Base64 runs worth decoding for instructions hidden in them. */
const B64_RUN = /[A-Za-z0-9+/]{24,}={0,2}/g;

export interface InboundFinding {
  /** Heuristic family, e.g. `ignore-previous-instructions`, `hidden-html-comment`. */
  readonly rule: string;
  /** Offset in the text where it fired (for hidden or encoded text: where the hiding starts). */
  readonly start: number;
  /** What fired, as it appears in the text (hostile: escape it before a human reads it). */
  readonly match: string;
}

const INVISIBLE = /[\u200B-\u200F\u2060-\u2064\uFEFF\u00AD]/g;

/** Prompt-injection heuristics on a text: each family that fires, once, with where. */
export function inboundFindings(text: string): InboundFinding[] {
  const out: InboundFinding[] = [];
  const seen = new Set<string>();
  const add = (rule: string, start: number, match: string) => {
    if (seen.has(rule)) return;
    seen.add(rule);
    out.push({ rule, start, match });
  };
  for (const [name, re] of INJECTION) {
    if (seen.has(name)) continue;
    const m = re.exec(text);
    if (m) add(name, m.index, m[0]);
  }
  // Zero-width characters sprinkled between letters: look again without them.
  const visible = text.replace(INVISIBLE, '');
  if (visible !== text) {
    const hit = OVERRIDE.exec(visible) ?? INJECTION.map(([, re]) => (re.test(text) ? null : re.exec(visible))).find((m) => m) ?? null;
    if (hit) {
      INVISIBLE.lastIndex = 0;
      const at = INVISIBLE.exec(text)?.index ?? 0;
      add('zero-width-hidden-text', at, hit[0]);
    }
  }
  // Encoded instructions: base64 that decodes to an override.
  B64_RUN.lastIndex = 0;
  let n = 0;
  for (let m = B64_RUN.exec(text); m !== null && n < 256; m = B64_RUN.exec(text), n++) {
    const dec = Buffer.from(m[0], 'base64').toString('latin1');
    if (OVERRIDE.test(dec) || INJECTION.slice(1, 12).some(([, re]) => re.test(dec))) {
      add('encoded-instructions', m.index, m[0]);
      break;
    }
  }
  return out;
}

/** Prompt-injection heuristics on a response text: the names of those that fire. */
export function inboundWarnings(text: string): string[] {
  return inboundFindings(text).map((f) => f.rule);
}
