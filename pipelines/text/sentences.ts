export interface Span {
  start: number;
  end: number;
}

const ABBREVIATIONS = new Set(["e.g", "i.e", "dr", "mr", "mrs", "ms", "vs", "etc", "fig", "no", "st", "cf", "al"]);

/**
 * Sentence spans of `text` (offsets into it, trimmed). Ends at . ! ? followed by whitespace,
 * except after common abbreviations and inside numbers; a blank line or a list item also ends one.
 */
export function splitSentences(text: string): Span[] {
  const spans: Span[] = [];
  let start = 0;
  const push = (end: number) => {
    let s = start;
    let e = end;
    while (s < e && /\s/.test(text[s]!)) s++;
    while (e > s && /\s/.test(text[e - 1]!)) e--;
    if (e > s) spans.push({ start: s, end: e });
    start = end;
  };
  const re = /([.!?])["')\]]*\s+|\n\s*\n|\n(?=\s*(?:[-*+]|\d+[.)])\s)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m[1] === ".") {
      const before = text.slice(start, m.index).match(/([\p{L}.]+)$/u)?.[1]?.toLowerCase() ?? "";
      if (ABBREVIATIONS.has(before) || /^\p{L}$/u.test(before)) continue;
    }
    push(m.index + m[0].length);
  }
  push(text.length);
  return spans;
}
