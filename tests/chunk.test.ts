import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { getEncoding } from "js-tiktoken";
import { describe, expect, it } from "vitest";
import { createChunker, defaultChunkerSettings } from "../pipelines/chunk/structure-chunker.js";
import { sentenceSpans } from "../pipelines/text/segment.js";
import type { ChunkDraft, TokenCounter } from "../pipelines/chunk/types.js";
import { parseHtml } from "../pipelines/parse/html.js";
import { parseMarkdown } from "../pipelines/parse/markdown.js";
import { parseText } from "../pipelines/parse/text.js";
import type { ParsedDocument } from "../pipelines/parse/types.js";

const words: TokenCounter = (t) => t.split(/\s+/).filter(Boolean).length;
const settings = (maxTokens: number, overlapTokens = 0) => ({ maxTokens, overlapTokens, strategy: "structure-v1" });

/** The invariants every chunking must keep, whatever the input. */
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
  });
}

const sentence = (n: number, word = "word") => `${"Lorem".concat(` ${word}`.repeat(n - 2))} end.`;

describe("structure-v1 chunker", () => {
  it("packs whole paragraphs and never crosses sections", () => {
    const md = `# A\n\n${sentence(10)}\n\n${sentence(10)}\n\n${sentence(10)}\n\n## B\n\n${sentence(5)}`;
    const doc = parseMarkdown(md);
    const chunks = createChunker(settings(25), words).chunk(doc);
    expectValidChunks(doc, chunks, 25, words);
    expect(chunks.map((c) => c.headingPath)).toEqual([["A"], ["A"], ["A", "B"]]);
    expect(chunks[0]!.text).toBe(`# A\n\n${sentence(10)}\n\n${sentence(10)}`);
    expect(chunks[2]!.text).toBe(`## B\n\n${sentence(5)}`);
  });

  it("splits a paragraph at sentences when it does not fit, and a giant sentence at words", () => {
    const para = [sentence(8), sentence(8), sentence(8)].join(" ");
    const giant = Array.from({ length: 500 }, (_, i) => `w${i}`).join(" ");
    const doc = parseText(`${para}\n\n${giant}`);
    const chunks = createChunker(settings(20), words).chunk(doc);
    expectValidChunks(doc, chunks, 20, words);
    expect(chunks.slice(0, 2).map((c) => c.text)).toEqual([`${sentence(8)} ${sentence(8)}`, sentence(8)]);
    const giantChunks = chunks.slice(2);
    expect(giantChunks.map((c) => c.text).join(" ")).toBe(giant);
    expect(giantChunks.every((c) => /^w\d+$/.test(c.text.split(" ").at(-1)!))).toBe(true);
    expect(giantChunks).toHaveLength(25);
  });

  it("cuts a word longer than the limit between characters", () => {
    const chars: TokenCounter = (t) => Math.ceil(t.length / 4);
    const doc = parseText(`short ${"x".repeat(100)} tail`);
    const chunks = createChunker(settings(10), chars).chunk(doc);
    expectValidChunks(doc, chunks, 10, chars);
    expect(chunks.length).toBeGreaterThan(3);
    expect(
      chunks
        .map((c) => c.text)
        .join("")
        .replace(/ /g, ""),
    ).toBe(doc.text.replace(/ /g, ""));
  });

  it("keeps an opening code fence with its code and skips markup that renders as nothing", () => {
    const code = Array.from({ length: 15 }, (_, k) => `let x${k} = ${k};`).join("\n");
    const md = `# T\n\nIntro text here.\n\n\`\`\`rust\n${code}\n\`\`\`\n\n<!-- Old headings. Do not remove. -->\n<a id="old-anchor"></a>\n\n[ref]: https://example.com\n\n## U\n\n<a id="x"></a>`;
    const doc = parseMarkdown(md);
    const chunks = createChunker(settings(40), words).chunk(doc);
    expectValidChunks(doc, chunks, 40, words);
    expect(chunks.some((c) => c.text.trim() === "```rust")).toBe(false);
    expect(chunks.some((c) => /old-anchor|Old headings|\[ref\]|id="x"/.test(c.text))).toBe(false);
    expect(chunks.find((c) => c.text.includes("let x14"))!.text.endsWith("let x14 = 14;\n```")).toBe(true);
    expect(chunks.at(-1)!.text).toBe("## U");
  });

  it("repeats trailing sentences within a section as overlap, but not across sections", () => {
    const s = (k: number) => `Sentence number ${k} is here.`;
    const body = Array.from({ length: 6 }, (_, k) => s(k)).join(" ");
    const doc = parseMarkdown(`# One\n\n${body}\n\n# Two\n\n${body}`);
    const chunks = createChunker(settings(16, 5), words).chunk(doc);
    expectValidChunks(doc, chunks, 16, words);
    for (let i = 1; i < chunks.length; i++) {
      const prev = chunks[i - 1]!;
      const cur = chunks[i]!;
      if (cur.headingPath.join() === prev.headingPath.join()) {
        expect(cur.start).toBeLessThan(prev.end);
        expect(prev.text.endsWith(doc.text.slice(cur.start, prev.end))).toBe(true);
      } else {
        expect(cur.start).toBeGreaterThanOrEqual(prev.end);
      }
    }
  });

  it("stays within bounds under a real, non-additive tokenizer with special tokens", () => {
    const enc = getEncoding("cl100k_base");
    const pieces: TokenCounter = (t) => enc.encode(t).length + 2; // like [CLS] ... [SEP]
    const superAdditive: TokenCounter = (t) => Math.ceil(t.length / 3);
    const md = readFileSync(join(bookDir, "ch04-01-what-is-ownership.md"), "utf8");
    const doc = parseMarkdown(md);
    for (const [count, max] of [
      [pieces, 64],
      [superAdditive, 50],
    ] as const) {
      const chunks = createChunker(settings(max, 8), count).chunk(doc);
      expectValidChunks(doc, chunks, max, count);
    }
  });

  it("counts each sentence once plus about once per chunk, not quadratically", () => {
    let calls = 0;
    const counting: TokenCounter = (t) => {
      calls++;
      return words(t);
    };
    const doc = parseText(Array.from({ length: 400 }, (_, k) => `This is sentence ${k}.`).join(" "));
    const chunks = createChunker(settings(50), counting).chunk(doc);
    expect(calls).toBeLessThanOrEqual(1 + 400 + chunks.length);
  });

  it("keeps offsets exact for HTML and text documents", () => {
    const html = parseHtml(
      `<main><h1>T</h1><p>${sentence(12)} ${sentence(12)}</p><ul><li>${sentence(6)}</li><li>${sentence(6)}</li></ul><h2>S</h2><pre>a  b\n  c</pre></main>`,
    );
    expectValidChunks(html, createChunker(settings(15), words).chunk(html), 15, words);
    const text = parseText(`\n  ${sentence(30)}\n\n\n${sentence(4)}\n`);
    expectValidChunks(text, createChunker(settings(12), words).chunk(text), 12, words);
  });

  it("validates settings", () => {
    expect(defaultChunkerSettings(256)).toEqual({ maxTokens: 256, overlapTokens: 0, strategy: "structure-v1" });
    expect(createChunker(defaultChunkerSettings(8), words).settings.strategy).toBe("structure-v1");
    expect(() => createChunker(settings(0), words)).toThrow(RangeError);
    expect(() => createChunker(settings(10, 10), words)).toThrow(RangeError);
    expect(() => createChunker({ ...settings(10), strategy: "fixed" }, words)).toThrow(RangeError);
  });
});

describe("sentenceSpans", () => {
  const split = (t: string) => sentenceSpans(t, 0, t.length).map(([s, e]) => t.slice(s, e));

  it("ends sentences at . ! ? before a capital, digit or quote, but not after abbreviations or in decimals", () => {
    expect(
      split(
        'Dr. Smith paid 3.50 dollars, e.g. for tea. Was it good? "Yes!" 42 is the answer. J. R. R. Tolkien wrote etc. And more.',
      ),
    ).toEqual([
      "Dr. Smith paid 3.50 dollars, e.g. for tea.",
      "Was it good?",
      '"Yes!"',
      "42 is the answer.",
      "J. R. R. Tolkien wrote etc. And more.",
    ]);
  });

  it("treats list items and headings as boundaries", () => {
    expect(split("Steps:\n- install it\n- run it\n1. then this\n## Next\nplain line\n> - quoted item")).toEqual([
      "Steps:",
      "- install it",
      "- run it",
      "1. then this",
      "## Next",
      "plain line",
      "> - quoted item",
    ]);
  });

  it("does not end a sentence at circa, versus, ranks, titles, months or et al.", () => {
    expect(
      split(
        "Jonas Bronck (c. 1600 – 43) farmed there. Gen. Robert E. Lee and Lt. Col. Smith met on Jan. 5, as Smith et al. report. The case Fabian v. Desierto followed. Rev. Jones agreed.",
      ),
    ).toEqual([
      "Jonas Bronck (c. 1600 – 43) farmed there.",
      "Gen. Robert E. Lee and Lt. Col. Smith met on Jan. 5, as Smith et al. report.",
      "The case Fabian v. Desierto followed.",
      "Rev. Jones agreed.",
    ]);
  });

  it("ends a sentence before a closing quote or bracket set off by a space, as tokenised text writes them", () => {
    // Penn Treebank tokenisation (ClapNQ, many NLP corpora) writes `` … '' for quotes and spaces punctuation.
    expect(
      split(
        "To sanctify is to `` make holy . '' Etymologically , it is Latin . The Council decided . ( However , the advice was often ignored . ) Routine work was left to it .",
      ),
    ).toEqual([
      "To sanctify is to `` make holy . ''",
      "Etymologically , it is Latin .",
      "The Council decided .",
      "( However , the advice was often ignored . )",
      "Routine work was left to it .",
    ]);
  });
});

// Five chapters of the Rust book (MIT or Apache-2.0, see COPYRIGHT there): prose, code blocks,
// long operator tables and nested lists, as real Markdown writes them.
const bookDir = fileURLToPath(new URL("./fixtures/rust-book", import.meta.url));

describe("the Rust book", () => {
  const files = readdirSync(bookDir).filter((f) => f.endsWith(".md"));

  it("chunks every chapter within bounds with exact offsets", () => {
    expect(files.length).toBe(5);
    const chunker = createChunker(settings(120, 20), words);
    for (const file of files) {
      const doc = parseMarkdown(readFileSync(join(bookDir, file), "utf8"));
      expectValidChunks(doc, chunker.chunk(doc), 120, words);
    }
  });

  it("keeps the chapter heading on the ownership chunks", () => {
    const doc = parseMarkdown(readFileSync(join(bookDir, "ch04-01-what-is-ownership.md"), "utf8"));
    const chunks = createChunker(defaultChunkerSettings(120), words).chunk(doc);
    expect(chunks.length).toBeGreaterThan(5);
    expect(chunks.every((c) => c.headingPath[0] === "What Is Ownership?")).toBe(true);
    expect(chunks.some((c) => c.headingPath.join(" > ") === "What Is Ownership? > The String Type")).toBe(true);
  });
});
