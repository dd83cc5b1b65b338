import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { guardMismatch, questionFeatures } from "../pipelines/cache/guard.js";
import { cacheKey, normalizeQuestion } from "../pipelines/cache/key.js";
import { epochsCurrent } from "../pipelines/cache/store.js";
import { compressContext } from "../pipelines/generate/compress.js";
import { packContext } from "../pipelines/generate/pack.js";
import { renderSource } from "../pipelines/generate/prompt.js";
import { createGeneratorTokenizer } from "../pipelines/generate/tokens.js";
import { loadPrompt, promptVersions } from "../pipelines/prompts/registry.js";
import { budgetDay } from "../pipelines/store/spend-queries.js";
import { hit } from "./support/answer-fixtures.js";
import { tempDir } from "./support/temp-dir.js";

const mismatch = (a: string, b: string) => guardMismatch(questionFeatures(a), questionFeatures(b));

describe("the cache's lexical guard", () => {
  it("lets a light paraphrase through", () => {
    expect(
      mismatch("When was the Skerryvore lens installed?", "can you tell me when was the Skerryvore lens installed"),
    ).toBeNull();
    expect(mismatch("How is green tea steeped?", "How is green tea steeped, please?")).toBeNull();
  });

  it("never matches a question to its negation, another number, another name or another question word", () => {
    expect(mismatch("Is remote work allowed on Fridays?", "Is remote work not allowed on Fridays?")).toBe(
      "negation differs",
    );
    expect(mismatch("Is remote work allowed on Fridays?", "Isn't remote work allowed on Fridays?")).toBe(
      "negation differs",
    );
    expect(mismatch("Which library supports HTTP/2?", "Which library doesn't support HTTP/2?")).toBe(
      "negation differs",
    );
    expect(mismatch("What was the limit in 2023?", "What was the limit in 2024?")).toBe("numbers differ");
    expect(mismatch("Do we get two weeks of leave?", "Do we get three weeks of leave?")).toBe("numbers differ");
    expect(mismatch("Who founded Acme in Berlin?", "Who founded Acme in Paris?")).toBe("names differ");
    expect(mismatch("What is the maximum upload size?", "What is the minimum upload size?")).toBe(
      "polar or question words differ",
    );
    expect(mismatch("When did the bridge open?", "Where did the bridge open?")).toBe("polar or question words differ");
    // Lower-cased names still differ as content words.
    expect(mismatch("what is the capital of france", "what is the capital of spain and italy")).toBe(
      "content words differ",
    );
  });
});

describe("the cache key", () => {
  const base = {
    keyId: "key_a",
    collections: ["hr"],
    generationId: 3,
    embedder: "use-lite",
    generator: "extractive",
    promptVersion: "none",
    options: { topK: 8 },
  };
  it("changes with the tenant, the collections, the generation, the prompt and every option; not with order", () => {
    const k = cacheKey(base);
    expect(cacheKey({ ...base, options: { topK: 8, maxContextTokens: undefined } })).toBe(k);
    expect(cacheKey({ ...base, collections: ["eng", "hr"] })).toBe(cacheKey({ ...base, collections: ["hr", "eng"] }));
    for (const other of [
      { keyId: "key_b" },
      { keyId: null },
      { collections: ["eng"] },
      { collections: null },
      { generationId: 4 },
      { promptVersion: "answer/v2" },
      { generator: "openai:gpt-4o" },
      { options: { topK: 9 } },
      { options: { topK: 8, compress: 0.5 } },
    ]) {
      expect(cacheKey({ ...base, ...other })).not.toBe(k);
    }
  });

  it("the exact path folds whitespace only", () => {
    expect(normalizeQuestion("  What  is\tBM25? ")).toBe("What is BM25?");
    expect(normalizeQuestion("What is BM25?")).not.toBe(normalizeQuestion("what is bm25?"));
  });

  it("an entry is current only while every epoch it was computed under is unchanged", () => {
    expect(epochsCurrent({ hr: 3 }, { hr: 3 })).toBe(true);
    expect(epochsCurrent({ hr: 3 }, { hr: 4 })).toBe(false);
    expect(epochsCurrent({ "*": 1 }, { "*": 1 })).toBe(true);
    expect(epochsCurrent({ hr: 3, eng: 1 }, { hr: 3, eng: 2 })).toBe(false);
    expect(epochsCurrent({}, {})).toBe(false);
  });
});

describe("context compression", () => {
  const tokenizer = createGeneratorTokenizer();
  const filler = (topic: string) =>
    Array.from(
      { length: 8 },
      (_, i) => `The ${topic} committee met on day ${i + 1} and discussed the agenda at length without a decision.`,
    ).join(" ");
  const hits = [
    hit(
      "tea.md",
      `${filler("tea")} Green tea is steeped at about 80 degrees Celsius for two minutes. ${filler("kettle")}`,
    ),
    hit("owls.md", `${filler("owl")} A barn owl hunts by sound in complete darkness.`),
  ];
  const packed = packContext(hits, 2000, tokenizer, renderSource);

  it("keeps the sentences that answer, drops the rest down to the target ratio, and reports tokens before and after", () => {
    const { packed: out, report } = compressContext(
      "At what temperature is green tea steeped?",
      packed,
      0.3,
      tokenizer,
      renderSource,
    );
    expect(report.tokensBefore).toBe(packed.usedTokens);
    expect(report.tokensAfter).toBe(out.usedTokens);
    expect(report.tokensAfter).toBeLessThanOrEqual(Math.floor(packed.usedTokens * 0.3));
    expect(report.sentencesDropped).toBeGreaterThan(0);
    expect(out.sources[0]!.text).toContain("Green tea is steeped at about 80 degrees Celsius for two minutes.");
    // Verbatim sentences, in document order, and counted as sent.
    for (const s of out.sources) {
      for (const sentence of s.text.split(/(?<=\.) /)) {
        expect(hits.some((h) => h.text.includes(sentence))).toBe(true);
      }
    }
    expect(tokenizer.count(out.sources.map(renderSource).join(""))).toBe(out.usedTokens);
    expect(out.sources.map((s) => s.n)).toEqual(out.sources.map((_, i) => i + 1));
  });

  it("ratio 1 leaves the context as it was", () => {
    const { packed: out, report } = compressContext("green tea", packed, 1, tokenizer, renderSource);
    expect(out).toBe(packed);
    expect(report).toEqual({
      ratio: 1,
      tokensBefore: packed.usedTokens,
      tokensAfter: packed.usedTokens,
      sentencesDropped: 0,
    });
  });
});

describe("versioned prompts", () => {
  const dir = tempDir("rag-prompts-");

  it("reads prompts/<kind>/<version>.md and fills its placeholders", () => {
    expect(promptVersions("answer")).toEqual(expect.arrayContaining(["v1", "v2"]));
    const v1 = loadPrompt("answer", "v1", { ABSTAIN_MESSAGE: "NOPE" });
    expect(v1.id).toBe("answer/v1");
    expect(v1.text).toContain("reply exactly: NOPE");
    expect(loadPrompt("judge", "v1").text).toMatch(/^You grade an answer/);
  });

  it("an unknown version or an unfilled placeholder is an error that says what there is", () => {
    expect(() => loadPrompt("answer", "v9")).toThrow(/no answer prompt version "v9" .*there are: v1, v2/);
    expect(() => loadPrompt("answer", "../judge/v1")).toThrow(/no answer prompt version/);
    mkdirSync(join(dir, "answer"));
    writeFileSync(join(dir, "answer", "x.md"), "Say {{MISSING}}.\n");
    expect(() => loadPrompt("answer", "x", {}, dir)).toThrow(/\{\{MISSING\}\} has no value/);
  });
});

describe("budget days", () => {
  it("a day is a UTC day and resets at midnight UTC", () => {
    expect(budgetDay(new Date("2026-03-01T23:59:59Z"))).toEqual({
      day: "2026-03-01",
      resetsAt: new Date("2026-03-02T00:00:00Z"),
    });
    expect(budgetDay(new Date("2026-03-02T00:00:00Z")).day).toBe("2026-03-02");
  });
});
