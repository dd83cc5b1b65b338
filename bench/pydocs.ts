/**
 * A real reference manual, end to end: pages of Python's HTML documentation (Debian's
 * python3.11-doc, read from the installed package, never committed) are ingested into a fresh
 * index and eval-sets/pydocs.jsonl is run through /ask's answer path by `npm run eval`'s own code
 * (extractive generator, lexical reranker, answerability judge, verifier: the defaults). Its
 * answers live in definition-list terms, table cells and "the default is" sentences; the figure
 * that matters is answerContains, the share of answerable questions whose answer holds the fact.
 *
 *   npm run bench:pydocs -- [--pages 60] [--docs /usr/share/doc/python3.11/html] [--k 8]
 *
 * Pages: every page the suite names, then the smallest other library/ pages by file size until
 * --pages (a fixed choice for a given package version: the distractors are the same every run).
 * The default, 60 pages (13 named, about 1,600 chunks), ingests in about a minute on a quiet machine
 * and in ten on a loaded one; --pages 200 (about 4,000 chunks) is the issue's setting.
 * Figures only, no assertions; the report goes to bench/out/pydocs.{md,json,svg}.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { readSuite } from "../pipelines/eval/suite.js";
import { main as evalMain } from "../services/cli/eval.js";

const { values: args } = parseArgs({
  options: {
    pages: { type: "string", default: "60" },
    docs: { type: "string", default: "/usr/share/doc/python3.11/html" },
    k: { type: "string", default: "8" },
  },
});
const SUITE = new URL("../eval-sets/pydocs.jsonl", import.meta.url).pathname;
const OUT = new URL("./out/", import.meta.url).pathname;

function choosePages(docs: string, total: number): string[] {
  const named = [...new Set(readSuite(SUITE).flatMap((x) => x.relevant))];
  for (const page of named) {
    if (!existsSync(join(docs, page))) {
      throw new Error(`${join(docs, page)} is missing: the suite names it (is python3.11-doc the version installed?)`);
    }
  }
  const library = readdirSync(join(docs, "library"))
    .filter((f) => f.endsWith(".html"))
    .map((f) => `library/${f}`)
    .filter((p) => !named.includes(p))
    .map((p) => ({ p, size: statSync(join(docs, p)).size }))
    .sort((a, b) => a.size - b.size || (a.p < b.p ? -1 : 1))
    .map((x) => x.p);
  return [...named, ...library.slice(0, Math.max(0, total - named.length))];
}

async function main() {
  const docs = args.docs;
  if (!existsSync(join(docs, "library", "functions.html"))) {
    throw new Error(
      `${docs} has no library/functions.html: install Debian's python3.11-doc (apt-get install python3.11-doc) or pass --docs`,
    );
  }
  const pages = choosePages(docs, Number(args.pages));
  const root = mkdtempSync(join(tmpdir(), "bench-pydocs-src-"));
  const dataDir = mkdtempSync(join(tmpdir(), "bench-pydocs-db-"));
  for (const page of pages) {
    mkdirSync(dirname(join(root, page)), { recursive: true });
    copyFileSync(join(docs, page), join(root, page));
  }
  console.log(
    `${pages.length} pages of ${docs} (${(pages.reduce((s, p) => s + statSync(join(docs, p)).size, 0) / 1e6).toFixed(1)} MB of HTML)`,
  );
  const loads: number[] = [];
  const sample = setInterval(() => loads.push(loadavg()[0]!), 5000);
  const t0 = performance.now();
  try {
    const status = await evalMain([SUITE, "--ingest", root, "--k", args.k, "--out", OUT, "--name", "pydocs"], {
      ...process.env,
      DATA_DIR: dataDir,
      DATABASE_URL: undefined,
      LOG_LEVEL: "error",
    });
    if (status !== 0) {
      process.exitCode = status;
    }
  } finally {
    clearInterval(sample);
    rmSync(root, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  }
  // Each question's answer, for reading what the figure counts.
  const report = JSON.parse(readFileSync(join(OUT, "pydocs.json"), "utf8")) as {
    details: Array<{
      id: string;
      answerable: boolean;
      abstained: boolean;
      answerContains: boolean | null;
      answer: string;
    }>;
  };
  console.log("\nanswers (+ contains the fact, - does not, . unanswerable):");
  for (const d of report.details) {
    const mark = d.answerContains === null ? "." : d.answerContains ? "+" : "-";
    console.log(`${mark} ${d.id}: ${d.abstained ? "(abstained)" : d.answer.replace(/\s+/g, " ").slice(0, 220)}`);
  }
  const mean = loads.length ? loads.reduce((a, b) => a + b, 0) / loads.length : loadavg()[0]!;
  console.log(
    `\n${((performance.now() - t0) / 1000).toFixed(0)} s in all; load average (1 min) while it ran: mean ${mean.toFixed(1)}, max ${Math.max(...loads, 0).toFixed(1)} (2 cores, shared)`,
  );
}

await main();
