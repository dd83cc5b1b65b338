import { Tiktoken } from "js-tiktoken/lite";
import cl100k from "js-tiktoken/ranks/cl100k_base";

/** Counts tokens the way the generator will, so a context budget is never exceeded. */
export interface GeneratorTokenizer {
  readonly encoding: string;
  count(text: string): number;
}

/**
 * cl100k_base: the tokenizer of the GPT-3.5/4 family and a close, slightly pessimistic stand-in for
 * most open models; the extractive generator has no tokenizer of its own.
 */
export function createGeneratorTokenizer(): GeneratorTokenizer {
  const enc = new Tiktoken(cl100k);
  return { encoding: "cl100k_base", count: (text) => enc.encode(text).length };
}
