import { Tiktoken } from "js-tiktoken/lite";
import cl100k from "js-tiktoken/ranks/cl100k_base";
import { LruMap } from "../lru.js";

/** Counts tokens the way the generator will, so a context budget is never exceeded. */
export interface GeneratorTokenizer {
  readonly encoding: string;
  count(text: string): number;
}

// Built once: a Tiktoken holds its rank table (1-2 MB) and takes a moment to build.
let cl100kTokenizer: GeneratorTokenizer | undefined;
let o200kTokenizer: Promise<GeneratorTokenizer> | undefined;

/**
 * cl100k_base: the tokenizer of the GPT-3.5/4 family and a close, slightly pessimistic stand-in for
 * most open models; the extractive generator has no tokenizer of its own.
 */
export function createGeneratorTokenizer(): GeneratorTokenizer {
  if (!cl100kTokenizer) {
    const enc = new Tiktoken(cl100k);
    cl100kTokenizer = { encoding: "cl100k_base", count: rememberCounts((text) => enc.encode(text).length) };
  }
  return cl100kTokenizer;
}

/** The gpt-4o family (4o, 4.1, o1, o3, o4) counts with o200k_base; everything else with cl100k_base. */
export function encodingForModel(model: string): "o200k_base" | "cl100k_base" {
  return /^(gpt-4o|gpt-4\.1|gpt-5|o1|o3|o4)/i.test(model) ? "o200k_base" : "cl100k_base";
}

/** The tokenizer for an OpenAI-compatible model name. o200k's ranks (2.3 MB) load only when needed. */
export async function tokenizerForModel(model: string): Promise<GeneratorTokenizer> {
  if (encodingForModel(model) === "cl100k_base") {
    return createGeneratorTokenizer();
  }
  o200kTokenizer ??= import("js-tiktoken/ranks/o200k_base").then(({ default: o200k }) => {
    const enc = new Tiktoken(o200k);
    return { encoding: "o200k_base", count: rememberCounts((text: string) => enc.encode(text).length) };
  });
  return o200kTokenizer;
}

// Counts of recent texts: /ask packs the same popular chunks again and again, and BPE-encoding a
// chunk was 2 ms of every answer's main-thread time (bench:load's profile, issue 14).
const REMEMBERED_COUNTS = 4096;
// Short texts (a question, an answer sentence) are counted faster than they are remembered.
const REMEMBER_FROM_CHARS = 200;

function rememberCounts(count: (text: string) => number): (text: string) => number {
  const counts = new LruMap<string, number>(REMEMBERED_COUNTS);
  return (text) => {
    if (text.length < REMEMBER_FROM_CHARS) {
      return count(text);
    }
    let n = counts.get(text);
    if (n === undefined) {
      n = count(text);
      counts.set(text, n);
    }
    return n;
  };
}
