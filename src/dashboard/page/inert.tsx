/**
 * Bottle text on the page. Preact sets it as text (never HTML), so markup is
 * inert; `visible` (the same helper the terminal uses) turns controls, bidi
 * overrides and invisible characters into escapes a human can read, shown
 * highlighted so a hidden `\x1b[8m` or `\u202e` stands out.
 */
import { visible } from '../../untrusted.js';

// A marker that cannot survive in the escaped text: `visible` escapes every NUL.
const MARK = '\u0000';

export function Inert(props: { text: string | null | undefined; lines?: boolean; class?: string }) {
  const shown = visible(props.text ?? '', { lines: props.lines === true, mark: (e) => `${MARK}${e}${MARK}` });
  const parts = shown.split(MARK);
  return (
    <span class={props.class}>
      {parts.map((p, i) => (i % 2 === 1 ? <span class="esc" title="a hidden or control character, shown escaped">{p}</span> : p))}
    </span>
  );
}

/** For attributes (title, aria-label): the escaped text, plain. */
export function inertText(text: string | null | undefined): string {
  return visible(text ?? '');
}
