import { paragraphSpans, sentenceSpans } from "./segment.js";

export interface SentenceSpan {
  start: number;
  end: number;
}

/** Sentence spans of a whole text (offsets into it, trimmed), with the chunker's boundaries. */
export function splitSentences(text: string): SentenceSpan[] {
  return paragraphSpans(text, 0, text.length).flatMap(([ps, pe]) =>
    sentenceSpans(text, ps, pe).map(([start, end]) => ({ start, end })),
  );
}
