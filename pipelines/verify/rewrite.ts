import { stripMarkers } from "../generate/answer-text.js";
import type { AnswerSentence } from "../generate/types.js";

/** The sentence with `cites` as its only markers, placed before its closing punctuation. */
export function withCites(text: string, cites: number[]): string {
  const plain = stripMarkers(text);
  const marks = cites.length ? ` ${cites.map((n) => `[${n}]`).join("")}` : "";
  const end = /[.!?]+["'”’)]*$/.exec(plain);
  return end ? `${plain.slice(0, end.index)}${marks}${end[0]}` : `${plain}${marks}`;
}

/**
 * Rebuilds the answer with each sentence replaced by `replacement[i]` (null: removed), keeping the
 * text between sentences (paragraph breaks, list layout) where the generator gave offsets.
 */
export function rebuild(original: string, sentences: AnswerSentence[], replacement: Array<string | null>): string {
  const spans = sentences.every((s) => s.start !== undefined && s.end !== undefined);
  if (!spans) {
    return replacement.filter((r): r is string => r !== null).join(" ");
  }
  let out = "";
  let at = 0;
  sentences.forEach((s, i) => {
    out += original.slice(at, s.start) + (replacement[i] ?? "");
    at = s.end!;
  });
  out += original.slice(at);
  return out
    .replace(/[ \t]+/g, " ")
    .replace(/ *\n */g, "\n")
    .replace(/^[-*+•] *$/gm, "")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}
