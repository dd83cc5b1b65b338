import { DomUtils, parseDocument } from "htmlparser2";
import { buildSections, type HeadingMark } from "./sections.js";
import type { ParsedDocument } from "./types.js";

type Node = ReturnType<typeof parseDocument>["children"][number];
type Element = Parameters<typeof DomUtils.getAttributeValue>[0];

// Chrome and markup that is never the page's own text.
const DROPPED = new Set([
  "head", "title", "script", "style", "noscript", "template", "svg", "math", "nav", "footer", "aside",
  "form", "iframe", "object", "embed", "canvas", "video", "audio", "button", "select", "dialog",
]);
const DROPPED_ROLES = new Set(["navigation", "banner", "contentinfo", "search"]);
const PARAGRAPH_BLOCKS = new Set([
  "p", "pre", "blockquote", "ul", "ol", "dl", "table", "figure", "section", "article", "main",
  "div", "hr", "details", "address", "fieldset", "body", "center",
]);
const LINE_BLOCKS = new Set(["li", "tr", "dt", "dd", "figcaption", "summary", "caption", "legend"]);
const HEADING = /^h([1-6])$/;

/**
 * Extracts the readable text of an HTML page. `text` is plain text with blank lines between
 * blocks and "- " before list items, so the chunker sees paragraphs and list entries.
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
    if (!DomUtils.isTag(node)) continue;
    if (node.name === "title" && title === "") title = collapse(DomUtils.textContent(node));
    if (main === null && (node.name === "main" || node.attribs.role === "main")) main = node;
    if (body === null && node.name === "body") body = node;
    if (node.name === "article" && !inArticle) articles.push(node);
    const childInArticle = inArticle || node.name === "article";
    for (let k = node.children.length - 1; k >= 0; k--) stack.push({ node: node.children[k]!, inArticle: childInArticle });
  }
  const roots = main ? [main] : articles.length > 0 ? articles : body ? [body] : nodes;
  return { title, roots };
}

interface WalkContext {
  pre: boolean;
  /** Inside <main>/<article>, where a <header> holds the article's own title rather than site chrome. */
  inContent: boolean;
}

type Step = { node: Node; ctx: WalkContext } | { close: Element; blockBreak: number };

function walk(roots: Node[], out: TextBuilder): void {
  const top: WalkContext = { pre: false, inContent: false };
  const stack: Step[] = roots.map((node) => ({ node, ctx: top })).reverse();
  for (let step = stack.pop(); step !== undefined; step = stack.pop()) {
    if ("close" in step) {
      if (HEADING.test(step.close.name)) out.endHeading();
      if (step.close.name === "li") out.endListItem();
      if (step.blockBreak > 0) out.breakLine(step.blockBreak);
      continue;
    }
    const { node, ctx } = step;
    if (DomUtils.isText(node)) out.write(node.data, ctx.pre);
    if (!DomUtils.isTag(node) || isDropped(node, ctx)) continue;
    const name = node.name;
    if (name === "br") {
      out.newline();
      continue;
    }
    const heading = HEADING.exec(name);
    const blockBreak = PARAGRAPH_BLOCKS.has(name) || heading ? 2 : LINE_BLOCKS.has(name) ? 1 : 0;
    if (blockBreak > 0) out.breakLine(blockBreak);
    if (name === "li") out.listItem();
    if (name === "td" || name === "th") out.cellSeparator();
    if (heading) out.beginHeading(Number(heading[1]));
    const inner = {
      pre: ctx.pre || name === "pre" || name === "textarea",
      inContent: ctx.inContent || name === "article" || name === "main" || node.attribs.role === "main",
    };
    stack.push({ close: node, blockBreak });
    for (let k = node.children.length - 1; k >= 0; k--) stack.push({ node: node.children[k]!, ctx: inner });
  }
}

function isDropped(el: Element, ctx: WalkContext): boolean {
  if (DROPPED.has(el.name) || (el.name === "header" && !ctx.inContent)) return true;
  if (el.attribs.hidden !== undefined || el.attribs["aria-hidden"] === "true") return true;
  return DROPPED_ROLES.has(el.attribs.role ?? "");
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
    const chunk = pre ? data : data.replace(/\s+/g, " ");
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
    if (this.listMarker) this.append("- ");
    this.listMarker = false;
    if (this.openHeading && this.openHeading.start === null) this.openHeading.start = this.length;
    this.append(core);
    this.pendingSpace = !pre && chunk.endsWith(" ");
  }

  breakLine(lines: number): void {
    // "<li><p>text" must read "- text", not a marker alone above a paragraph.
    if (this.listMarker) return;
    this.pendingBreak = Math.max(this.pendingBreak, lines);
    this.pendingSpace = false;
  }

  /** A <br>: unlike a block boundary it repeats, but two in a row already make a paragraph. */
  newline(): void {
    if (this.length === 0 || this.pendingBreak > 0 || this.trailingNewlines >= 2) return;
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
    if (open?.start == null) return;
    this.headings.push({ start: open.start, contentStart: this.length, level: open.level, text: "" });
  }

  toString(): string {
    return this.parts.join("").trimEnd();
  }

  private append(piece: string): void {
    if (piece === "") return;
    this.parts.push(piece);
    this.length += piece.length;
    let newlines = 0;
    while (newlines < piece.length && piece[piece.length - 1 - newlines] === "\n") newlines++;
    this.endsWithSpace = piece.endsWith(" ");
    this.trailingNewlines = newlines === piece.length ? this.trailingNewlines + newlines : newlines;
  }

  private atLineStart(): boolean {
    return this.length === 0 || this.trailingNewlines > 0;
  }
}
