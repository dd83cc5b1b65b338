import type { AskResponse, GuardReport, RetrievedSource } from "../../schemas/api.js";
import type { Reranker } from "../rerank/types.js";
import { defangAnswer, detectInjection, type InjectionReason } from "./injection.js";
import { maskPii } from "./pii.js";

export type InjectionMode = "flag" | "exclude";

// An image, link or tag that has begun but not ended at the end of the text so far. An image's
// "![alt]" is held (the next delta may open its "(url)"), and so is a link's "[label]", except a
// citation marker "[2]": answers end with one, and holding it would split every answer's last delta.
const PARTIAL_MARKUP = /(?:!\[[^\]\n]*(?:\](?:\([^)\s]*)?)?|\[(?!\d+\]$)[^\]\n]*(?:\](?:\([^)\s]*)?)?|<[^>\n]*)$/;
// A stream that never closes its bracket or never ends a sentence is released anyway.
const MAX_HELD_CHARS = 2000;

export interface AnswerGuardOptions {
  injectionMode: InjectionMode;
  /** Mask personal data in the answer, its snippets and verified sentences (PII_MASK_ANSWERS). */
  maskAnswers: boolean;
}

/**
 * One /ask request's screen. Chunks are checked between re-ranking and packing (a decorator on
 * the reranker, so the answer pipeline needs no change): flagged ones are recorded, and dropped
 * when the mode is `exclude`, before they can reach the prompt or the `retrieval` event.
 */
export function createAnswerGuard(question: string, opts: AnswerGuardOptions) {
  const q = detectInjection(question);
  const flagged = new Map<string, { documentId: string; reasons: InjectionReason[] }>();
  const excluded: GuardReport["excluded"] = [];
  let packed: RetrievedSource[] = [];

  return {
    /** The reranker whose output is screened; keeps the inner one's name (the pipeline reads it). */
    screen(inner: Reranker): Reranker {
      return {
        name: inner.name,
        async rerank(query, hits) {
          const ranked = await inner.rerank(query, hits);
          return ranked.filter((h) => {
            const check = detectInjection(h.text);
            if (!check.flagged) {
              return true;
            }
            flagged.set(h.chunkId, { documentId: h.documentId, reasons: check.reasons });
            if (opts.injectionMode === "flag") {
              return true;
            }
            excluded.push({ documentId: h.documentId, chunkId: h.chunkId, reasons: check.reasons });
            return false;
          });
        },
      };
    },

    /** Give it the `retrieval` event's sources: they carry the numbers the answer cites by. */
    onSources(sources: RetrievedSource[]) {
      packed = sources;
    },

    /**
     * A filter for streamed deltas (raw model text, shown before verification): a Markdown image,
     * link or HTML tag is held back until it is complete and then defanged like the final answer;
     * with PII_MASK_ANSWERS, text is released a sentence at a time, masked, since a phone number or
     * card can arrive split across deltas. Otherwise deltas pass through as they come.
     */
    deltaFilter() {
      let pending = "";
      const release = (text: string) => {
        const d = defangAnswer(text).text;
        return opts.maskAnswers ? maskPii(d).text : d;
      };
      return {
        push(delta: string): string {
          pending += delta;
          let cut = pending.search(PARTIAL_MARKUP);
          if (cut < 0) {
            cut = pending.length;
          }
          if (opts.maskAnswers && pending.length < MAX_HELD_CHARS) {
            const boundaries = [...pending.slice(0, cut).matchAll(/[.!?](?=\s)|\n/g)];
            cut = boundaries.length ? boundaries[boundaries.length - 1]!.index + 1 : 0;
          }
          if (cut === 0 && pending.length < MAX_HELD_CHARS) {
            return "";
          }
          const out = pending.slice(0, cut || pending.length);
          pending = pending.slice(out.length);
          return release(out);
        },
        flush(): string {
          const out = pending;
          pending = "";
          return out ? release(out) : "";
        },
        reset() {
          pending = "";
        },
      };
    },

    /**
     * The answer is untrusted output: images and external links are removed (a steered model
     * could exfiltrate through them), and personal data is masked when configured. Adds `guard`.
     */
    finish(response: AskResponse): AskResponse {
      const defanged = defangAnswer(response.answer);
      // Snippets (document text) and the verifier's sentence report are rendered by clients too.
      let out: AskResponse = {
        ...response,
        answer: defanged.text,
        citations: response.citations.map((c) => ({ ...c, snippet: defangAnswer(c.snippet).text })),
        verification: {
          ...response.verification,
          details: response.verification.details.map((d) => ({ ...d, text: defangAnswer(d.text).text })),
        },
      };
      let piiMasked = 0;
      if (opts.maskAnswers) {
        const mask = (s: string) => {
          const m = maskPii(s);
          piiMasked += m.spans.length;
          return m.text;
        };
        out = {
          ...out,
          answer: mask(out.answer),
          citations: out.citations.map((c) => ({ ...c, snippet: mask(c.snippet) })),
          verification: {
            ...out.verification,
            details: out.verification.details.map((d) => ({ ...d, text: mask(d.text) })),
          },
        };
      }
      const flaggedSources = packed
        .filter((s) => flagged.has(s.chunkId))
        .map((s) => ({
          n: s.n,
          documentId: s.documentId,
          chunkId: s.chunkId,
          reasons: flagged.get(s.chunkId)!.reasons,
        }));
      return {
        ...out,
        guard: {
          mode: opts.injectionMode,
          questionFlagged: q.flagged,
          questionReasons: q.reasons,
          flaggedSources,
          excluded,
          answerLinksRemoved: defanged.removed,
          piiMasked,
        },
      };
    },
  };
}

export type AnswerGuard = ReturnType<typeof createAnswerGuard>;
