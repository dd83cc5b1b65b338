import { DomUtils, parseDocument } from "htmlparser2";
import { buildSections, type HeadingMark } from "./sections.js";
import { tableParagraphs } from "./table-rows.js";
import type { ParsedDocument } from "./types.js";

type Node = ReturnType<typeof parseDocument>["children"][number];
type Element = Parameters<typeof DomUtils.getAttributeValue>[0];

// Chrome and markup that is never the page's own text.
const DROPPED = new Set([
  "head",
  "title",
  "script",
  "style",
  "noscript",
  "template",
  "svg",
  "math",
  "nav",
  "footer",
  "aside",
  "form",
  "iframe",
  "object",
  "embed",
  "canvas",
  "video",
  "audio",
  "button",
  "select",
  "dialog",
]);
const DROPPED_ROLES = new Set(["navigation", "banner", "contentinfo", "search"]);
const PARAGRAPH_BLOCKS = new Set([
  "p",
  "pre",
  "blockquote",
  "ul",
  "ol",
  "dl",
  "table",
  "figure",
  "section",
  "article",
  "main",
  "div",
  "hr",
  "details",
  "address",
  "fieldset",
  "body",
  "center",
]);
const LINE_BLOCKS = new Set(["li", "tr", "dt", "dd", "figcaption", "summary", "caption", "legend"]);
const HEADING = /^h([1-6])$/;
// A definition-list term opens a section below every real heading (h6 is level 6), one level
// deeper per nested list, so each chunk of its description carries the term in its heading path.
const TERM_LEVEL = 6;

/**
 * Extracts the readable text of an HTML page. `text` is plain text with blank lines between
 * blocks and "- " before list items, so the chunker sees paragraphs and list entries. Structure
 * that carries meaning is kept: each table row is a paragraph with its column headers ("Level:
 * WARNING · Numeric value: 30"), a definition term (`<dt>`, such as a function's signature) heads
 * the section of its descriptions, and a `<pre>` block has no blank line that would split it.
 */
export function parseHtml(source: string): ParsedDocument {
  const dom = parseDocument(source);
  const found = scan(dom.children);
  const out = new TextBuilder();
  walk(found.roots, out);
  const text = out.toString();
  const headings = out.headings.map((h) => ({ ...h, text: collapse(text.slice(h.start, h.contentStart)) }));
  return {
    format: "html",
    text,
    title: found.title || (headings.find((h) => h.level === 1)?.text ?? null),
    sections: buildSections(text, 0, headings),
    pageCount: null,
  };
}

// Both traversals below keep their own stack: generated pages can nest thousands of elements
// deep, and recursion (DomUtils' included) overflows the call stack long before htmlparser2 does.

/** Finds the <title> and the content roots: the first <main>, else every outermost <article>, else the body. */
function scan(nodes: Node[]): { title: string; roots: Node[] } {
  let title = "";
  let main: Node | null = null;
  let body: Node | null = null;
  const articles: Node[] = [];
  const stack: Array<{ node: Node; inArticle: boolean }> = nodes.map((node) => ({ node, inArticle: false })).reverse();
  for (let entry = stack.pop(); entry !== undefined; entry = stack.pop()) {
    const { node, inArticle } = entry;
    if (!DomUtils.isTag(node)) {
      continue;
    }
    if (node.name === "title" && title === "") {
      title = collapse(DomUtils.textContent(node));
    }
    if (main === null && (node.name === "main" || node.attribs.role === "main")) {
      main = node;
    }
    if (body === null && node.name === "body") {
      body = node;
    }
    if (node.name === "article" && !inArticle) {
      articles.push(node);
    }
    const childInArticle = inArticle || node.name === "article";
    for (let k = node.children.length - 1; k >= 0; k--) {
      stack.push({ node: node.children[k]!, inArticle: childInArticle });
    }
  }
  const roots = main ? [main] : articles.length > 0 ? articles : body ? [body] : nodes;
  return { title, roots };
}

interface WalkContext {
  pre: boolean;
  /** Definition lists around this node. */
  dlDepth: number;
  /** Inside <main>/<article>, where a <header> holds the article's own title rather than site chrome. */
  inContent: boolean;
}

type Step = { node: Node; ctx: WalkContext } | { close: Element; blockBreak: number; dlDepth: number };

function walk(roots: Node[], out: TextBuilder): void {
  const top: WalkContext = { pre: false, inContent: false, dlDepth: 0 };
  const stack: Step[] = roots.map((node) => ({ node, ctx: top })).reverse();
  for (let step = stack.pop(); step !== undefined; step = stack.pop()) {
    if ("close" in step) {
      if (HEADING.test(step.close.name) || step.close.name === "dt") {
        out.endHeading();
      }
      // Text after a definition list belongs to the heading above the list, not to its last term.
      if (step.close.name === "dl") {
        out.endScope(TERM_LEVEL + step.dlDepth);
      }
      if (step.close.name === "li") {
        out.endListItem();
      }
      if (step.blockBreak > 0) {
        out.breakLine(step.blockBreak);
      }
      continue;
    }
    const { node, ctx } = step;
    if (DomUtils.isText(node)) {
      out.write(node.data, ctx.pre);
    }
    if (!DomUtils.isTag(node) || isDropped(node, ctx)) {
      continue;
    }
    const name = node.name;
    if (name === "br") {
      out.newline();
      continue;
    }
    if (name === "table") {
      out.breakLine(2);
      for (const row of tableParagraphs(...tableRows(node))) {
        out.write(row, false);
        out.breakLine(2);
      }
      continue;
    }
    const heading = HEADING.exec(name);
    const blockBreak = PARAGRAPH_BLOCKS.has(name) || heading ? 2 : LINE_BLOCKS.has(name) ? 1 : 0;
    if (blockBreak > 0) {
      out.breakLine(blockBreak);
    }
    if (name === "li") {
      out.listItem();
    }
    if (name === "td" || name === "th") {
      out.cellSeparator();
    }
    if (heading) {
      out.beginHeading(Number(heading[1]));
    }
    if (name === "dt") {
      out.beginHeading(TERM_LEVEL + Math.max(1, ctx.dlDepth));
    }
    const inner = {
      pre: ctx.pre || name === "pre" || name === "textarea",
      dlDepth: ctx.dlDepth + (name === "dl" ? 1 : 0),
      inContent: ctx.inContent || name === "article" || name === "main" || node.attribs.role === "main",
    };
    stack.push({ close: node, blockBreak, dlDepth: inner.dlDepth });
    for (let k = node.children.length - 1; k >= 0; k--) {
      stack.push({ node: node.children[k]!, ctx: inner });
    }
  }
}

function isDropped(el: Element, ctx: WalkContext): boolean {
  if (DROPPED.has(el.name) || (el.name === "header" && !ctx.inContent)) {
    return true;
  }
  // Sphinx's "¶" permalinks would otherwise end every heading and signature.
  if (el.name === "a" && /(?:^|\s)headerlink(?:\s|$)/.test(el.attribs.class ?? "")) {
    return true;
  }
  if (el.attribs.hidden !== undefined || el.attribs["aria-hidden"] === "true") {
    return true;
  }
  return DROPPED_ROLES.has(el.attribs.role ?? "");
}

/**
 * The rows of a table (not of tables nested in it) as cell texts, and whether the first row is a
 * header: in <thead>, or all <th>. Iterative, like the walk, for deeply nested markup.
 */
function tableRows(table: Element): [string[][], boolean] {
  const rows: string[][] = [];
  let hasHeader = false;
  const stack: Array<{ node: Node; inHead: boolean }> = table.children
    .map((node) => ({ node, inHead: false }))
    .reverse();
  for (let entry = stack.pop(); entry !== undefined; entry = stack.pop()) {
    const { node, inHead } = entry;
    if (
      !DomUtils.isTag(node) ||
      node.name === "table" ||
      isDropped(node, { pre: false, inContent: true, dlDepth: 0 })
    ) {
      continue;
    }
    if (node.name === "caption") {
      continue;
    }
    if (node.name === "tr") {
      const cells = node.children.filter(
        (c): c is Element => DomUtils.isTag(c) && (c.name === "td" || c.name === "th"),
      );
      if (rows.length === 0) {
        hasHeader = inHead || (cells.length > 0 && cells.every((c) => c.name === "th"));
      }
      rows.push(cells.map((c) => collapse(visibleText(c))));
      continue;
    }
    for (let k = node.children.length - 1; k >= 0; k--) {
      stack.push({ node: node.children[k]!, inHead: inHead || node.name === "thead" });
    }
  }
  return [rows, hasHeader];
}

/** Text of an element without the parts the walk drops (scripts, hidden markup, permalinks). */
function visibleText(el: Element): string {
  const parts: string[] = [];
  const stack: Node[] = [...el.children].reverse();
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    if (DomUtils.isText(node)) {
      parts.push(node.data);
    }
    if (!DomUtils.isTag(node) || isDropped(node, { pre: false, inContent: true, dlDepth: 0 })) {
      continue;
    }
    if (node.name === "br" || node.name === "p") {
      parts.push(" ");
    }
    for (let k = node.children.length - 1; k >= 0; k--) {
      stack.push(node.children[k]!);
    }
  }
  return parts.join("");
}

function collapse(s: string): string {
  return s.replace(/\s+/g, " ").trim();
}

/**
 * Appends text while collapsing whitespace and turning block boundaries into line breaks. It keeps
 * pieces in an array and tracks the trailing newlines itself: reading back a growing string would
 * flatten it on every write and make large pages quadratic.
 */
class TextBuilder {
  readonly headings: HeadingMark[] = [];
  private parts: string[] = [];
  private length = 0;
  private trailingNewlines = 0;
  private endsWithSpace = false;
  private pendingBreak = 0;
  private pendingSpace = false;
  private openHeading: { level: number; start: number | null } | null = null;
  private listMarker = false;

  write(data: string, pre: boolean): void {
    // A blank line inside <pre> would cut the code into paragraphs, and the chunker splits there.
    const chunk = pre ? data.replace(/\n[ \t]*(?:\r?\n[ \t]*)+/g, "\n") : data.replace(/\s+/g, " ");
    const core = pre ? chunk : chunk.trim();
    if (core === "") {
      this.pendingSpace ||= chunk !== "";
      return;
    }
    if (this.pendingBreak > 0 && this.length > 0) {
      this.append("\n".repeat(Math.max(0, this.pendingBreak - this.trailingNewlines)));
    } else if ((this.pendingSpace || chunk.startsWith(" ")) && !this.atLineStart() && !this.endsWithSpace) {
      this.append(" ");
    }
    this.pendingBreak = 0;
    if (this.listMarker) {
      this.append("- ");
    }
    this.listMarker = false;
    if (this.openHeading && this.openHeading.start === null) {
      this.openHeading.start = this.length;
    }
    this.append(core);
    this.pendingSpace = !pre && chunk.endsWith(" ");
  }

  breakLine(lines: number): void {
    // "<li><p>text" must read "- text", not a marker alone above a paragraph.
    if (this.listMarker) {
      return;
    }
    this.pendingBreak = Math.max(this.pendingBreak, lines);
    this.pendingSpace = false;
  }

  /** A <br>: unlike a block boundary it repeats, but two in a row already make a paragraph. */
  newline(): void {
    if (this.length === 0 || this.pendingBreak > 0 || this.trailingNewlines >= 2) {
      return;
    }
    this.append("\n");
    this.pendingSpace = false;
  }

  /** Marks the next text as a list item; the marker waits for text so empty items leave nothing. */
  listItem(): void {
    this.breakLine(1);
    this.listMarker = true;
  }

  endListItem(): void {
    this.listMarker = false;
  }

  cellSeparator(): void {
    if (this.pendingBreak === 0 && !this.atLineStart()) {
      this.append(" | ");
      this.pendingSpace = false;
    }
  }

  beginHeading(level: number): void {
    this.openHeading = { level, start: null };
  }

  endHeading(): void {
    const open = this.openHeading;
    this.openHeading = null;
    if (open?.start == null) {
      return;
    }
    this.headings.push({ start: open.start, contentStart: this.length, level: open.level, text: "" });
  }

  /** Closes the sections of terms at `level` and deeper: what follows reads under the heading above them. */
  endScope(level: number): void {
    this.headings.push({ start: this.length, contentStart: this.length, level, text: "" });
  }

  toString(): string {
    return this.parts.join("").trimEnd();
  }

  private append(piece: string): void {
    if (piece === "") {
      return;
    }
    this.parts.push(piece);
    this.length += piece.length;
    let newlines = 0;
    while (newlines < piece.length && piece[piece.length - 1 - newlines] === "\n") {
      newlines++;
    }
    this.endsWithSpace = piece.endsWith(" ");
    this.trailingNewlines = newlines === piece.length ? this.trailingNewlines + newlines : newlines;
  }

  private atLineStart(): boolean {
    return this.length === 0 || this.trailingNewlines > 0;
  }
}
