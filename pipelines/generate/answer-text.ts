import { splitSentences } from "../text/sentences.js";
import type { AnswerSentence } from "./types.js";

/** What every generator answers when the sources do not answer the question; the prompt asks for it verbatim. */
export const ABSTAIN_MESSAGE = "I could not find an answer to that in the indexed documents.";

// "[2]", "[1, 3]", "[1][2]"; models also write "[Source 2]" despite being asked not to.
const MARKER = /\[(?:sources?\s*)?(\d{1,3}(?:\s*[,;]\s*(?:sources?\s*)?\d{1,3})*)\]/gi;
const LEADING_MARKERS = /^(?:\s*\[(?:sources?\s*)?\d{1,3}(?:\s*[,;]\s*(?:sources?\s*)?\d{1,3})*\])+[.,;:]?/i;

/** Source numbers cited in `text`, in order of first appearance. */
export function citedNumbers(text: string): number[] {
  const out: number[] = [];
  for (const m of text.matchAll(MARKER)) {
    for (const d of m[1]!.match(/\d+/g)!) {
      if (!out.includes(Number(d))) {
        out.push(Number(d));
      }
    }
  }
  return out;
}

/** The text without its citation markers, spacing before punctuation mended. */
export function stripMarkers(text: string): string {
  return text
    .replace(MARKER, "")
    .replace(/\s+([.,;:!?])/g, "$1")
    .replace(/\s{2,}/g, " ")
    .trim();
}

/**
 * Sentences of an answer with the sources each cites. A marker written after the full stop
 * ("… in 1844. [2] The …") opens the next span when split; it belongs to the sentence before.
 */
export function citedSentences(text: string): AnswerSentence[] {
  const out: AnswerSentence[] = [];
  for (const span of splitSentences(text)) {
    let start = span.start;
    const lead = LEADING_MARKERS.exec(text.slice(start, span.end));
    const prev = out.at(-1);
    if (lead && prev) {
      prev.end = start + lead[0].length;
      prev.text = text.slice(prev.start, prev.end);
      prev.cites = citedNumbers(prev.text);
      start += lead[0].length;
      while (start < span.end && /\s/.test(text[start]!)) {
        start++;
      }
      if (start >= span.end) {
        continue;
      }
    }
    const body = text.slice(start, span.end);
    out.push({ text: body, cites: citedNumbers(body), start, end: span.end });
  }
  return out;
}

/** True for a sentence that says the sources hold no answer (the model's form of ABSTAIN_MESSAGE). */
export function isAbstention(sentence: string): boolean {
  const plain = sentence
    .toLowerCase()
    .replace(/[’']/g, "")
    .replace(/[^a-z ]+/g, " ");
  return /\b(could not|couldnt|cannot|can not) find an answer\b/.test(plain);
}
