import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { detectInjection } from "../pipelines/guard/injection.js";
import { maskPii, type PiiKind } from "../pipelines/guard/pii.js";

/**
 * False-positive rates and speed of the guards on ordinary text: the Rust book (Markdown, code
 * included) and SciFact abstracts, none of which contains an injection, and little real PII.
 * Prints figures; asserts nothing. `npm run bench:guard` (EVAL_DATA, default /work/shared/eval-data).
 */
const data = process.env.EVAL_DATA ?? "/work/shared/eval-data";
const paragraphs = (text: string) =>
  text
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter((p) => p.length > 20);

const book = join(data, "docs", "rust-book");
const corpora: Array<[string, string[]]> = [
  [
    "Rust book paragraphs",
    readdirSync(book)
      .filter((f) => f.endsWith(".md"))
      .flatMap((f) => paragraphs(readFileSync(join(book, f), "utf8"))),
  ],
  [
    "SciFact abstracts",
    readFileSync(join(data, "scifact", "corpus.jsonl"), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { title: string; text: string })
      .map((d) => `${d.title}\n${d.text}`),
  ],
];

for (const [name, texts] of corpora) {
  const chars = texts.reduce((n, t) => n + t.length, 0);
  let t0 = performance.now();
  const flagged = texts.map((t) => ({ t, c: detectInjection(t) })).filter((x) => x.c.flagged);
  const injectionMs = performance.now() - t0;
  t0 = performance.now();
  const pii: Partial<Record<PiiKind, number>> = {};
  const samples: string[] = [];
  for (const t of texts) {
    const m = maskPii(t);
    for (const s of m.spans) {
      pii[s.kind] = (pii[s.kind] ?? 0) + 1;
      if (samples.length < 8) {
        samples.push(`${s.kind}: ${JSON.stringify(t.slice(s.start, s.end))}`);
      }
    }
  }
  const piiMs = performance.now() - t0;
  const mb = chars / 1e6;
  console.log(`\n${name}: ${texts.length} texts, ${(mb).toFixed(1)} MB`);
  console.log(
    `  injection flagged: ${flagged.length} (${((100 * flagged.length) / texts.length).toFixed(2)}%), ${(mb / (injectionMs / 1000)).toFixed(1)} MB/s`,
  );
  for (const f of flagged.slice(0, 5)) {
    console.log(`    [${f.c.reasons.join(",")}] ${JSON.stringify(f.t.slice(0, 140))}`);
  }
  console.log(`  PII masked: ${JSON.stringify(pii)}, ${(mb / (piiMs / 1000)).toFixed(1)} MB/s`);
  for (const s of samples) {
    console.log(`    ${s}`);
  }
}
