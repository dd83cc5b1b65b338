import { readFileSync } from "node:fs";
import { z } from "zod";

/** USD per million tokens. */
export interface ModelPrice {
  input: number;
  output: number;
}

export const PriceTableSchema = z.record(
  z.string().min(1),
  z.object({ input: z.number().min(0), output: z.number().min(0) }).strict(),
);

/**
 * OpenAI's list prices (USD per 1M tokens, standard tier) as of 2025; override with PRICES_FILE
 * or PRICES_JSON when they change or for other providers. Local generators cost nothing.
 */
export const DEFAULT_PRICES: Record<string, ModelPrice> = {
  "gpt-5": { input: 1.25, output: 10 },
  "gpt-5-mini": { input: 0.25, output: 2 },
  "gpt-5-nano": { input: 0.05, output: 0.4 },
  "gpt-4.1": { input: 2, output: 8 },
  "gpt-4.1-mini": { input: 0.4, output: 1.6 },
  "gpt-4.1-nano": { input: 0.1, output: 0.4 },
  "gpt-4o": { input: 2.5, output: 10 },
  "gpt-4o-mini": { input: 0.15, output: 0.6 },
  "gpt-4-turbo": { input: 10, output: 30 },
  "gpt-4": { input: 30, output: 60 },
  "gpt-3.5-turbo": { input: 0.5, output: 1.5 },
  o1: { input: 15, output: 60 },
  "o1-mini": { input: 1.1, output: 4.4 },
  o3: { input: 2, output: 8 },
  "o3-mini": { input: 1.1, output: 4.4 },
  "o4-mini": { input: 1.1, output: 4.4 },
  extractive: { input: 0, output: 0 },
  none: { input: 0, output: 0 },
};

/** Reads a price file for PRICES_FILE; a bad file is an error that names it. */
export function readPriceFile(path: string): Record<string, ModelPrice> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`);
  }
  return parsePrices(raw, path);
}

export function parsePrices(raw: unknown, where: string): Record<string, ModelPrice> {
  const parsed = PriceTableSchema.safeParse(raw);
  if (!parsed.success) {
    throw new Error(
      `${where}: expected {"<model>": {"input": <usd per 1M>, "output": <usd per 1M>}}: ${parsed.error.issues.map((i) => `${i.path.join(".")} ${i.message}`).join("; ")}`,
    );
  }
  return parsed.data;
}

export interface PriceTable {
  /** The entry for `model`: exact, else the longest listed name it starts with (gpt-4o-2024-08-06 → gpt-4o). */
  priceOf(model: string): { model: string; price: ModelPrice } | null;
  /** Cost of one call; a model not in the table costs 0 and says so. */
  cost(model: string, inputTokens: number, outputTokens: number): { usd: number; priced: boolean };
}

export function createPriceTable(...overrides: Array<Record<string, ModelPrice> | undefined>): PriceTable {
  const table = new Map(
    Object.entries(Object.assign({}, DEFAULT_PRICES, ...overrides.filter(Boolean))) as Array<[string, ModelPrice]>,
  );
  const names = [...table.keys()].sort((a, b) => b.length - a.length);
  const priceOf = (model: string) => {
    const m = model.toLowerCase();
    const name = table.has(m) ? m : names.find((n) => m.startsWith(`${n}-`) || m.startsWith(`${n}:`));
    return name ? { model: name, price: table.get(name)! } : null;
  };
  return {
    priceOf,
    cost(model, inputTokens, outputTokens) {
      const p = priceOf(model);
      if (!p) {
        return { usd: 0, priced: false };
      }
      // Rounded to a millionth of a cent, so sums of many queries stay exact in JSON.
      return {
        usd: Math.round(((inputTokens * p.price.input + outputTokens * p.price.output) / 1e6) * 1e8) / 1e8,
        priced: true,
      };
    },
  };
}

/**
 * The tokens a query was billed for: what the model API reported, else the packed context and
 * the answer as counted with the generator's tokenizer. A cache hit spent nothing.
 */
export function billedTokens(r: {
  usage: {
    contextTokens: number;
    answerTokens: number;
    promptTokens?: number | undefined;
    completionTokens?: number | undefined;
  };
  cache?: { hit: boolean } | undefined;
}) {
  if (r.cache?.hit) {
    return { input: 0, output: 0 };
  }
  return {
    input: r.usage.promptTokens ?? r.usage.contextTokens,
    output: r.usage.completionTokens ?? r.usage.answerTokens,
  };
}
