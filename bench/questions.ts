import { readFileSync } from "node:fs";
import { basename, extname, join } from "node:path";

/**
 * Questions a reader of these pages would ask, for the load and profile benches: one per page from
 * its title ("How do I use argparse?"), then, when `perPage` > 1, from its section headings, so a
 * run has more distinct questions than pages. Deterministic: the same files give the same list.
 */
export function pageQuestions(dir: string, files: string[], perPage = 1): string[] {
  const titles: string[] = [];
  const sections: string[][] = [];
  for (const f of files) {
    const text = readFileSync(join(dir, f), "utf8");
    const title =
      /<title>([^<]+)<\/title>/i.exec(text)?.[1] ?? /^#\s+(.+)$/m.exec(text)?.[1] ?? basename(f, extname(f));
    // "asyncio — Synchronization Primitives — Python 3.11 documentation": the part that names the topic.
    const parts = title
      .replace(/&#8212;|&mdash;/g, "—")
      .replace(/&[a-z#0-9]+;/gi, " ")
      .split(/\s+[—–]\s+/)
      .filter((p) => !/documentation$/i.test(p));
    const clean = (parts[1] ?? parts[0] ?? "").replace(/\s+/g, " ").trim();
    if (clean.length > 3) {
      titles.push(`How do I use ${clean.toLowerCase()}?`);
    }
    const heads: string[] = [];
    if (perPage > 1) {
      for (const m of text.matchAll(/<h[23][^>]*>([\s\S]*?)<\/h[23]>/gi)) {
        const h = m[1]!
          .replace(/<[^>]+>/g, "")
          .replace(/&[a-z#0-9]+;/gi, " ")
          .replace(/[¶#]/g, "")
          .replace(/\s+/g, " ")
          .trim();
        if (h.length > 3 && heads.length < perPage - 1) {
          heads.push(`What does the documentation say about ${h.toLowerCase()}?`);
        }
      }
    }
    sections.push(heads);
  }
  // Titles first (the load bench's historic list), then the headings page by page.
  return [...titles, ...sections.flat()];
}
