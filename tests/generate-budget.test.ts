import { describe, expect, it } from "vitest";
import { packContext } from "../pipelines/generate/pack.js";
import { renderSource } from "../pipelines/generate/prompt.js";
import { createGeneratorTokenizer, encodingForModel, tokenizerForModel } from "../pipelines/generate/tokens.js";
import { hit } from "./support/answer-fixtures.js";

const tokenizer = createGeneratorTokenizer();

// A seeded generator, so a failure can be replayed.
function random(seed: number) {
  return () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
}

const WORDS =
  "lens lamp keeper weather beam Skerryvore 1844 nautical miles watch glass spirits tide reef granite tower".split(" ");
function sentence(rand: () => number, words: number): string {
  const w = Array.from({ length: words }, () => WORDS[Math.floor(rand() * WORDS.length)]!);
  return `${w[0]![0]!.toUpperCase()}${w.join(" ").slice(1)}.`;
}
function chunk(rand: () => number, sentences: number, wordsEach: () => number): string {
  return Array.from({ length: sentences }, () => sentence(rand, wordsEach())).join(" ");
}

/** The packer's invariants, checked on the joined text as the prompt carries it. */
function expectWithin(packed: ReturnType<typeof packContext>, budget: number, hits: ReturnType<typeof hit>[]) {
  const joined = packed.sources.map((s) => renderSource(s)).join("");
  expect(packed.usedTokens).toBeLessThanOrEqual(budget);
  expect(tokenizer.count(joined)).toBe(packed.usedTokens);
  expect(packed.sources.length + packed.dropped).toBe(hits.length);
  packed.sources.forEach((s, i) => {
    expect(s.n).toBe(i + 1);
    // Whole, or cut after a full sentence of its chunk, never inside one.
    expect(s.hit.text.startsWith(s.text)).toBe(true);
    if (s.text !== s.hit.text) {
      expect(s.text).toMatch(/\.$/);
    }
  });
}

describe("packContext never exceeds the budget", () => {
  it("over random budgets, chunk sizes and counts (property loop)", () => {
    const rand = random(42);
    for (let round = 0; round < 200; round++) {
      const count = 1 + Math.floor(rand() * 30);
      const hits = Array.from({ length: count }, (_, i) =>
        hit(
          `doc-${i}.md`,
          chunk(rand, 1 + Math.floor(rand() * 12), () => 3 + Math.floor(rand() * 25)),
          1 - i / count,
        ),
      );
      const budget = Math.floor(rand() * 3000);
      expectWithin(packContext(hits, budget, tokenizer, renderSource), budget, hits);
    }
  });

  it("with a tiny budget: nothing, or only what fits", () => {
    const rand = random(7);
    const hits = [
      hit(
        "a.md",
        chunk(rand, 5, () => 12),
      ),
      hit("b.md", "Short one."),
    ];
    for (const budget of [0, 1, 10, 23, 24, 40, 64]) {
      expectWithin(packContext(hits, budget, tokenizer, renderSource), budget, hits);
    }
    expect(packContext(hits, 0, tokenizer, renderSource).sources).toEqual([]);
  });

  it("with a huge chunk: cut at a sentence boundary to fit", () => {
    const rand = random(9);
    const huge = hit(
      "huge.md",
      chunk(rand, 400, () => 20),
    );
    const packed = packContext([huge], 500, tokenizer, renderSource);
    expectWithin(packed, 500, [huge]);
    expect(packed.sources).toHaveLength(1);
    expect(packed.usedTokens).toBeGreaterThan(400);
  });

  it("with a single sentence longer than the budget: dropped, not cut mid-sentence", () => {
    const rand = random(11);
    const long = hit("long.md", sentence(rand, 400));
    const packed = packContext(
      [long, hit("b.md", "The beam was visible for eighteen nautical miles.")],
      200,
      tokenizer,
      renderSource,
    );
    expect(packed.sources.map((s) => s.hit.path)).toEqual(["b.md"]);
    expect(packed.dropped).toBe(1);
  });

  it("with many chunks: fills in rank order and stops at the budget", () => {
    const rand = random(13);
    const hits = Array.from({ length: 50 }, (_, i) =>
      hit(
        `d${i}.md`,
        chunk(rand, 3, () => 15),
      ),
    );
    const packed = packContext(hits, 1000, tokenizer, renderSource);
    expectWithin(packed, 1000, hits);
    expect(packed.sources.map((s) => s.hit.path)).toEqual(hits.slice(0, packed.sources.length).map((h) => h.path));
  });

  it("counts delimiters: a source costs more in the prompt than its text alone", () => {
    const h = hit("docs/with a long/path.md", "The beam was visible for eighteen nautical miles.", 1, [
      "Lamps",
      "Optics",
    ]);
    const [framed] = packContext([h], 1000, tokenizer, renderSource).sources;
    expect(framed!.tokens).toBeGreaterThan(tokenizer.count(h.text) + 10);
  });
});

describe("the generator's tokenizer", () => {
  it("is o200k_base for the gpt-4o family and cl100k_base otherwise", async () => {
    expect(encodingForModel("gpt-4o-mini")).toBe("o200k_base");
    expect(encodingForModel("gpt-4.1")).toBe("o200k_base");
    expect(encodingForModel("o3-mini")).toBe("o200k_base");
    expect(encodingForModel("llama3.1:8b")).toBe("cl100k_base");
    const o200k = await tokenizerForModel("gpt-4o");
    expect(o200k.encoding).toBe("o200k_base");
    // The two encodings split text differently; the count must come from the right one.
    const text = "Skerryvore’s Fresnel lens — installed 1844 — focused the lamp.";
    expect(o200k.count(text)).toBeGreaterThan(0);
    expect((await tokenizerForModel("mistral")).encoding).toBe("cl100k_base");
  });
});
