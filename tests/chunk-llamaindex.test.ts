import { describe, expect, it } from "vitest";
import {
  createLlamaIndexChunker,
  LLAMAINDEX_STRATEGY,
  llamaIndexChunkerSettings,
} from "../pipelines/chunk/llamaindex-chunker.js";
import { STRUCTURE_STRATEGY } from "../pipelines/chunk/structure-chunker.js";
import type { ChunkDraft, TokenCounter } from "../pipelines/chunk/types.js";
import { parseMarkdown } from "../pipelines/parse/markdown.js";
import { parseText } from "../pipelines/parse/text.js";
import type { ParsedDocument, ParsedSection } from "../pipelines/parse/types.js";
import { loadAllInOneConfig } from "../services/all-in-one/config.js";
import { ConfigError } from "../services/common/config.js";
import { createCoreDeps, embedderConfig } from "../services/common/deps.js";
import { createLogger } from "../services/common/log.js";
import { startReindex } from "../services/common/reindex.js";
import { sharedEmbedder } from "./support/core.js";
import { tempDir } from "./support/temp-dir.js";

// Deterministic, as in tests/chunk.test.ts; the real USE-Lite counter bounds chunks in the core test below.
const words: TokenCounter = (t) => t.split(/\s+/).filter(Boolean).length;
const sentence = (n: number, word = "word") => `${"Lorem".concat(` ${word}`.repeat(n - 2))} end.`;

/** The invariants of every chunking, plus in-order coverage of each section's text. */
function expectValidChunks(doc: ParsedDocument, chunks: ChunkDraft[], maxTokens: number, count: TokenCounter): void {
  chunks.forEach((c, i) => {
    expect(c.ordinal).toBe(i);
    expect(c.text).toBe(doc.text.slice(c.start, c.end));
    expect(c.text).toBe(c.text.trim());
    expect(c.tokenCount).toBe(count(c.text));
    expect(c.tokenCount).toBeLessThanOrEqual(maxTokens);
    const section = doc.sections.find((s) => s.start <= c.start && c.end <= s.end);
    expect(section, `chunk ${i} crosses a section boundary`).toBeDefined();
    expect(c.headingPath).toEqual(section!.headingPath);
    expect(c.page).toBe(section!.page);
  });
  for (const section of doc.sections) {
    const inSection = chunks.filter((c) => section.start <= c.start && c.end <= section.end);
    let cursor = section.start;
    for (const c of inSection) {
      expect(doc.text.slice(cursor, c.start).trim(), `gap before chunk ${c.ordinal}`).toBe("");
      cursor = c.end;
    }
    expect(doc.text.slice(cursor, section.end).trim()).toBe("");
  }
}

/** A parsed PDF as pipelines/parse/pdf.ts builds one: pages joined by a blank line, one section each. */
function pdfLike(pages: string[]): ParsedDocument {
  let text = "";
  const sections: ParsedSection[] = pages.map((p, k) => {
    if (text !== "") {
      text += "\n\n";
    }
    const start = text.length;
    text += p;
    return { text: p, start, end: text.length, headingPath: [], page: k + 1 };
  });
  return { format: "pdf", text, title: null, sections, pageCount: pages.length };
}

describe("llamaindex-sentence-v1 chunker", () => {
  it("splits Markdown within its heading sections, with exact offsets", async () => {
    const md = `# Guide\n\n${sentence(10)} ${sentence(8)}\n\n${sentence(12)}\n\n- item one\n- item   two...  done.\n\n## Setup\n\n${sentence(6)}\n\n${sentence(14)}\n\n### Deep\n\n${sentence(9)}`;
    const doc = parseMarkdown(md);
    const chunker = await createLlamaIndexChunker(llamaIndexChunkerSettings(25), words);
    const chunks = chunker.chunk(doc);
    expectValidChunks(doc, chunks, 25, words);
    expect(chunks.length).toBeGreaterThan(3);
    expect(new Set(chunks.map((c) => c.headingPath.join(" > ")))).toEqual(
      new Set(["Guide", "Guide > Setup", "Guide > Setup > Deep"]),
    );
    expect(chunks.every((c) => c.page === null)).toBe(true);
  });

  it("carries page numbers and never crosses a page", async () => {
    const pages = [
      Array.from({ length: 6 }, (_, k) => sentence(7 + k)).join(" "),
      `Header line\n${sentence(9)}\n${sentence(9)}`,
      sentence(5),
    ];
    const doc = pdfLike(pages);
    const chunks = (await createLlamaIndexChunker(llamaIndexChunkerSettings(20), words)).chunk(doc);
    expectValidChunks(doc, chunks, 20, words);
    expect([...new Set(chunks.map((c) => c.page))]).toEqual([1, 2, 3]);
    expect(chunks.at(-1)!.text).toBe(sentence(5));
  });

  it("bounds a long sentence with no boundaries, and a word longer than the limit", async () => {
    const giant = Array.from({ length: 500 }, (_, i) => `w${i}`).join(" ");
    const doc = parseText(`${giant}\n\n${"x".repeat(200)}`);
    const chars: TokenCounter = (t) => Math.ceil(t.length / 4);
    for (const [count, max] of [
      [words, 30],
      [chars, 40],
    ] as const) {
      const chunks = (await createLlamaIndexChunker(llamaIndexChunkerSettings(max), count)).chunk(doc);
      expectValidChunks(doc, chunks, max, count);
      expect(chunks.length).toBeGreaterThan(500 / 30);
    }
  });

  it("re-splits with our counter when llamaindex's sum of pieces undercounts a chunk", async () => {
    // Joined sentences cost 5 more than their parts: llamaindex packs three (6 + 6 + 6 <= 20), which
    // really count 23, so each of its two chunks is re-split into two sentences (17) and one (6).
    const joined: TokenCounter = (t) => words(t) + (/\. L/.test(t) ? 5 : 0);
    const doc = parseText(Array.from({ length: 6 }, () => sentence(6)).join(" "));
    const chunks = (await createLlamaIndexChunker(llamaIndexChunkerSettings(20), joined)).chunk(doc);
    expectValidChunks(doc, chunks, 20, joined);
    expect(chunks.map((c) => c.tokenCount)).toEqual([17, 6, 17, 6]);
  });

  it("is a strategy of its own, so its generations never compare equal to structure-v1's", async () => {
    const chunker = await createLlamaIndexChunker(llamaIndexChunkerSettings(100), words);
    expect(chunker.settings).toEqual({ maxTokens: 100, overlapTokens: 0, strategy: LLAMAINDEX_STRATEGY });
    expect(LLAMAINDEX_STRATEGY).not.toBe(STRUCTURE_STRATEGY);
    await expect(createLlamaIndexChunker({ ...chunker.settings, strategy: STRUCTURE_STRATEGY }, words)).rejects.toThrow(
      RangeError,
    );
  });
});

describe("CHUNKER", () => {
  it("accepts structure (the default) and llamaindex, and rejects anything else", () => {
    expect(loadAllInOneConfig({}).CHUNKER).toBe("structure");
    expect(loadAllInOneConfig({ CHUNKER: "llamaindex" }).CHUNKER).toBe("llamaindex");
    expect(() => loadAllInOneConfig({ CHUNKER: "bogus" })).toThrow(ConfigError);
    expect(() => loadAllInOneConfig({ CHUNKER: "bogus" })).toThrow(/CHUNKER: must be structure or llamaindex/);
  });

  it("an index keeps the chunker it was built with when CHUNKER changes, and says so", {
    timeout: 60_000,
  }, async () => {
    const dataDir = tempDir("rag-chunker-");
    const lines: string[] = [];
    const log = createLogger("warn", {}, { write: (s: string) => void lines.push(s) });
    const embedder = await sharedEmbedder();
    const config = { DATA_DIR: dataDir, DATABASE_POOL_MAX: 1, EMBEDDING_MODEL: "use-lite", MAX_FILE_BYTES: 1_000_000 };
    const first = await createCoreDeps({ ...config, CHUNKER: "llamaindex" }, log, { embedder });
    const firstServed = first.runtime.current();
    expect(firstServed.chunker.settings.strategy).toBe(LLAMAINDEX_STRATEGY);
    expect((firstServed.generation.chunker as { strategy: string }).strategy).toBe(LLAMAINDEX_STRATEGY);
    const doc = parseMarkdown(
      `# Notes\n\n${Array.from({ length: 40 }, (_, k) => `Fact number ${k} is recorded here.`).join(" ")}`,
    );
    const count: TokenCounter = (t) => embedder.countTokens(t);
    expectValidChunks(doc, firstServed.chunker.chunk(doc), firstServed.chunker.settings.maxTokens, count);
    await first.close();
    expect(lines).toEqual([]);

    const second = await createCoreDeps(config, log, { embedder });
    try {
      expect(second.runtime.current().chunker.settings.strategy).toBe(LLAMAINDEX_STRATEGY);
      const warning = JSON.parse(lines.find((l) => l.includes("CHUNKER differs"))!) as Record<string, unknown>;
      expect(warning).toMatchObject({ level: "warn", indexed: LLAMAINDEX_STRATEGY, configured: STRUCTURE_STRATEGY });

      // The documented way to change chunkers: a re-index builds with CHUNKER, and the switch follows it.
      const { completion } = await startReindex(second, {
        embedder: embedderConfig(config),
        chunker: "structure",
        maxFileBytes: 1_000_000,
        retireGraceMs: 0,
        log,
      });
      await completion;
      const switched = second.runtime.current();
      expect((switched.generation.chunker as { strategy: string }).strategy).toBe(STRUCTURE_STRATEGY);
      expect(switched.chunker.settings.strategy).toBe(STRUCTURE_STRATEGY);
    } finally {
      await second.close();
    }
  });
});
