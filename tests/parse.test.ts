import { describe, expect, it } from "vitest";
import { isPipelineError, type PipelineErrorCode } from "../pipelines/errors.js";
import { decodeText, formatForPath, parseDocument } from "../pipelines/parse/index.js";
import { parseHtml } from "../pipelines/parse/html.js";
import { parseMarkdown } from "../pipelines/parse/markdown.js";
import { parseText } from "../pipelines/parse/text.js";
import type { ParsedDocument } from "../pipelines/parse/types.js";

const bytes = (s: string) => new TextEncoder().encode(s);

function expectExactSections(doc: ParsedDocument): void {
  for (const s of doc.sections) {
    expect(doc.text.slice(s.start, s.end)).toBe(s.text);
    expect(s.text.trim()).toBe(s.text);
    expect(s.text).not.toBe("");
  }
}

function pipelineCode(fn: () => unknown): { code: PipelineErrorCode; message: string } {
  try {
    fn();
  } catch (err) {
    if (isPipelineError(err)) {
      return { code: err.code, message: err.message };
    }
    throw err;
  }
  throw new Error("expected a PipelineError");
}

async function rejectedCode(p: Promise<unknown>): Promise<{ code: PipelineErrorCode; message: string }> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (isPipelineError(err)) {
    return { code: err.code, message: err.message };
  }
  throw err ?? new Error("expected a PipelineError");
}

describe("parseMarkdown", () => {
  const source = [
    "---",
    "title: Front matter title",
    "tags: [a]",
    "---",
    "Intro before any heading.",
    "",
    "# Getting started",
    "",
    "Welcome.",
    "",
    "## Installation",
    "",
    "```sh",
    "# not a heading",
    "cargo install thing",
    "```",
    "",
    "~~~~",
    "## also not a heading",
    "~~~~",
    "",
    "### Linux ###",
    "Use apt.",
    "## Usage with `cli`",
    "   ",
    "Run [the tool](https://example.com).",
    "",
    "Setext Title",
    "============",
    "Body under setext.",
    "",
  ].join("\n");
  const doc = parseMarkdown(source);

  it("keeps the source as text and finds nested heading paths outside code fences", () => {
    expect(doc.text).toBe(source);
    expect(doc.title).toBe("Getting started");
    expect(doc.sections.map((s) => s.headingPath)).toEqual([
      [],
      ["Getting started"],
      ["Getting started", "Installation"],
      ["Getting started", "Installation", "Linux"],
      ["Getting started", "Usage with cli"],
      ["Setext Title"],
    ]);
    expect(doc.sections[2]!.text).toContain("# not a heading");
    expect(doc.sections[2]!.text).toContain("## also not a heading");
    expectExactSections(doc);
  });

  it("leaves front matter out of every section", () => {
    expect(doc.sections[0]!.text).toBe("Intro before any heading.");
    expect(doc.sections.some((s) => s.text.includes("tags:"))).toBe(false);
  });

  it("folds a heading with nothing under it into its first subsection", () => {
    const folded = parseMarkdown("# Chapter\n\n## Part\n\nText.\n\n## Empty\n\n## Last\n\nMore.");
    expect(folded.sections.map((s) => [s.headingPath, s.text])).toEqual([
      [["Chapter", "Part"], "# Chapter\n\n## Part\n\nText."],
      [["Chapter", "Empty"], "## Empty"],
      [["Chapter", "Last"], "## Last\n\nMore."],
    ]);
  });

  it("treats --- after a blank line as a rule, skips whitespace-only sections and falls back for the title", () => {
    const d = parseMarkdown("## Only h2\n\ntext\n\n---\n\nmore\n\n#\n\n   \n");
    expect(d.title).toBe("Only h2");
    expect(d.sections.map((s) => s.headingPath)).toEqual([["Only h2"], []]);
    expect(parseMarkdown("---\ntitle: 'FM'\n---\nNo headings.").title).toBe("FM");
  });
});

describe("parseHtml", () => {
  const page = `<!doctype html><html><head><title>Docs &amp; Guides</title>
    <style>body { color: red }</style><script>track("x < y")</script></head>
    <body><header><a href="/">Home</a></header><nav>Menu</nav><div>Outside main</div>
    <main>
      <h1>Caf&eacute; &lt;setup&gt;</h1>
      <p>First    paragraph,
        with <b>bold</b>&nbsp;text.</p>
      <div role="navigation">Breadcrumbs</div>
      <noscript>Enable JS</noscript><template><p>Hidden template</p></template>
      <svg><text>Chart label</text></svg>
      <form><button>Send</button></form>
      <h2>Steps</h2>
      <ul><li>One</li><li><p>Two <i>too</i></p></li><li> </li></ul>
      <pre>fn main() {
    println!("hi");
}</pre>
      <aside>Related links</aside>
      <h3>Detail</h3><p>Line<br>break</p>
      <h2>Other</h2><p>Last.</p>
    </main>
    <footer>Copyright</footer></body></html>`;
  const doc = parseHtml(page);

  it("keeps only the main content, decoded and with collapsed spaces", () => {
    for (const gone of [
      "Home",
      "Menu",
      "Outside main",
      "Breadcrumbs",
      "Enable JS",
      "Hidden template",
      "Chart label",
      "Send",
      "Related links",
      "Copyright",
      "track",
      "color",
    ]) {
      expect(doc.text).not.toContain(gone);
    }
    expect(doc.title).toBe("Docs & Guides");
    expect(doc.text).toContain("Café <setup>");
    expect(doc.text).toContain("First paragraph, with bold text.");
    expect(doc.text).toContain("- One\n- Two too\n\nfn main");
    expect(doc.text).toContain('fn main() {\n    println!("hi");\n}');
    expect(doc.text).toContain("Line\nbreak");
  });

  it("builds heading paths with exact offsets into the extracted text", () => {
    expect(doc.sections.map((s) => s.headingPath)).toEqual([
      ["Café <setup>"],
      ["Café <setup>", "Steps"],
      ["Café <setup>", "Steps", "Detail"],
      ["Café <setup>", "Other"],
    ]);
    expect(doc.sections[0]!.text.startsWith("Café <setup>\n\nFirst paragraph")).toBe(true);
    expectExactSections(doc);
  });

  it("uses every article when there is no main, and the first h1 when there is no title", () => {
    const d = parseHtml(`<body><nav>x</nav><p>Teaser</p><article><header><h1>A</h1></header><p>Alpha</p></article>
      <aside>ad</aside><article><h1>B</h1><p>Beta</p><article><p>Nested</p></article></article></body>`);
    expect(d.title).toBe("A");
    expect(d.text).toBe("A\n\nAlpha\n\nB\n\nBeta\n\nNested");
    expect(d.sections.map((s) => s.headingPath)).toEqual([["A"], ["B"]]);
  });

  it("survives elements nested far deeper than the call stack allows recursion", () => {
    const n = 20_000;
    expect(parseHtml(`${"<div>".repeat(n)}deep text${"</div>".repeat(n)}`).text).toBe("deep text");
  });

  it("reads a fragment without html or body", () => {
    const d = parseHtml("<p>Just a <em>fragment</em></p><p>and more</p>");
    expect(d.text).toBe("Just a fragment\n\nand more");
    expect(d.sections).toHaveLength(1);
    expectExactSections(d);
  });
});

describe("parseText", () => {
  it("is one trimmed section with exact offsets", () => {
    const d = parseText("\n\n  First para.\n\nSecond para.  \n\n");
    expect(d.sections).toHaveLength(1);
    expect(d.sections[0]!.text).toBe("First para.\n\nSecond para.");
    expectExactSections(d);
  });
});

describe("formatForPath", () => {
  it.each([
    ["docs/a.md", "markdown"],
    ["A.MARKDOWN", "markdown"],
    ["x.mdx", "markdown"],
    ["site/index.html", "html"],
    ["page.HTM", "html"],
    ["notes.txt", "text"],
    ["notes.text", "text"],
    ["paper.pdf", "pdf"],
    ["image.png", null],
    ["Makefile", null],
    [".md", null],
    ["dir.md/file", null],
  ])("%s -> %s", (path, format) => {
    expect(formatForPath(path)).toBe(format);
  });
});

describe("decodeText", () => {
  it.each([
    ["empty", new Uint8Array(), "empty_document"],
    ["whitespace-only", bytes(" \n\t \r\n"), "empty_document"],
    ["NUL bytes", bytes("text\0more"), "binary_content"],
    ["mostly control characters", new Uint8Array(100).fill(0x01), "binary_content"],
    ["invalid UTF-8", new Uint8Array([0xff, 0xfe, 0xfd]), "invalid_encoding"],
    ["a broken sequence", new Uint8Array([0x61, 0xc3, 0x28]), "invalid_encoding"],
  ] as const)("rejects %s", (_, input, code) => {
    const err = pipelineCode(() => decodeText(input, "docs/file.md"));
    expect(err.code).toBe(code);
    expect(err.message).toContain("docs/file.md");
  });

  it("strips a UTF-8 BOM and keeps a few control characters", () => {
    expect(decodeText(new Uint8Array([0xef, 0xbb, 0xbf, ...bytes("héllo")]), "a.txt")).toBe("héllo");
    expect(decodeText(bytes("colour \x1b[31mred\x1b[0m and a form feed\f"), "a.txt")).toContain("red");
  });
});

describe("parseDocument", () => {
  it("dispatches by extension", async () => {
    expect((await parseDocument(bytes("# T\n\nBody"), "a/b.md")).format).toBe("markdown");
    expect((await parseDocument(bytes("<p>Hi</p>"), "a/b.html")).format).toBe("html");
    expect((await parseDocument(bytes("Hi"), "a/b.txt")).format).toBe("text");
  });

  it("rejects unknown extensions as unsupported and a PDF without a body as corrupt, naming the path", async () => {
    const unknown = await rejectedCode(parseDocument(bytes("x"), "img/photo.jpeg"));
    expect(unknown.code).toBe("unsupported_format");
    expect(unknown.message).toContain("img/photo.jpeg");
    expect(unknown.message).toContain(".md");
    expect((await rejectedCode(parseDocument(bytes("%PDF-1.7"), "paper.pdf"))).code).toBe("corrupt_file");
  });

  it("rejects a page with no readable text once scripts are dropped", async () => {
    const err = await rejectedCode(
      parseDocument(bytes("<html><script>var a = 1;</script><style>p{}</style></html>"), "app.html"),
    );
    expect(err.code).toBe("empty_document");
    expect(err.message).toContain("app.html");
    expect((await rejectedCode(parseDocument(bytes("---\ntitle: x\n---\n"), "fm.md"))).code).toBe("empty_document");
  });
});
