import type { Citation } from "./types.js";

/** Where a citation points, in words: `guide.pdf, page 3 — Install › Linux`. */
export function placeOf(c: Pick<Citation, "path" | "page" | "headingPath">): string {
  const parts = [c.path];
  if (c.page !== null) {
    parts.push(`page ${c.page}`);
  }
  const place = parts.join(", ");
  return c.headingPath.length ? `${place} — ${c.headingPath.join(" › ")}` : place;
}

/** The answer with its numbered sources as Markdown, for pasting into a ticket or a chat. */
export function answerMarkdown(question: string, answer: string, citations: Citation[]): string {
  const lines = [`**Question:** ${question}`, "", answer.trim(), ""];
  if (citations.length) {
    lines.push("**Sources**", "");
    for (const c of [...citations].sort((a, b) => a.n - b.n)) {
      lines.push(`[${c.n}] ${placeOf(c)}`);
      if (c.snippet) {
        lines.push(`    > ${c.snippet.replace(/\s+/g, " ").trim()}`);
      }
    }
  }
  return `${lines.join("\n").trimEnd()}\n`;
}
