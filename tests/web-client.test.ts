import { describe, expect, it } from "vitest";
import { answerMarkdown, placeOf } from "../web/src/markdown.js";
import { readSse } from "../web/src/sse.js";

const streamOf = (...parts: string[]) =>
  new ReadableStream<Uint8Array>({
    start(c) {
      for (const p of parts) {
        c.enqueue(new TextEncoder().encode(p));
      }
      c.close();
    },
  });

describe("web app client code", () => {
  it("reads named server-sent events split anywhere across chunks, as POST /ask streams them", async () => {
    const events = [];
    for await (const ev of readSse(
      streamOf(
        'event: retrieval\ndata: {"sources":[]}\n\nevent: del',
        'ta\ndata: {"text":"Hi [1]"}\r\n\r\n',
        "data: a\ndata: b",
      ),
    )) {
      events.push(ev);
    }
    expect(events).toEqual([
      { event: "retrieval", data: '{"sources":[]}' },
      { event: "delta", data: '{"text":"Hi [1]"}' },
      { event: "message", data: "a\nb" },
    ]);
  });

  it("copies an answer as Markdown with its numbered sources, places and snippets", () => {
    const cite = (n: number, page: number | null, headingPath: string[], snippet: string) => ({
      n,
      documentId: "d",
      sourceId: "s",
      chunkId: "c",
      path: page ? "guide.pdf" : "notes.md",
      page,
      headingPath,
      snippet,
    });
    const md = answerMarkdown("When?", "In 1844 [2]. At night [1].", [
      cite(2, 3, [], "Built in\n1844."),
      cite(1, null, ["Keepers", "Night"], "Logged nightly."),
    ]);
    expect(md).toBe(
      "**Question:** When?\n\nIn 1844 [2]. At night [1].\n\n**Sources**\n\n" +
        "[1] notes.md — Keepers › Night\n    > Logged nightly.\n[2] guide.pdf, page 3\n    > Built in 1844.\n",
    );
    expect(answerMarkdown("Q", "I don't know.", [])).toBe("**Question:** Q\n\nI don't know.\n");
    expect(placeOf({ path: "a.txt", page: null, headingPath: [] })).toBe("a.txt");
  });
});
