/**
 * Ingestion throughput and freshness, through the service's own watcher, in-process queue and
 * worker on a fresh PGlite database (the embedded default). Figures only, no assertions.
 *
 *   npm run bench:ingest -- [--limit N] [--only docs|scifact|bulk|ocr] [--edits 50] [--raw-sample 3000] [--lag-only]
 *                           [--threads N] [--concurrency N]
 *
 * For each corpus: documents/s and chunks/s from the start-up scan to an idle queue; the raw
 * throughput of embedder.embed alone on the same chunk texts (a uniform sample of --raw-sample
 * of them, 0 for all), measured in the same process; their ratio; and the lag from writing a
 * one-paragraph edit to a watched file until its new text is in the store (p50 and p95 of --edits;
 * goal p95 < 2 s). --lag-only skips the corpus scan and raw-embedding figures and measures only
 * the lag, on a fresh database. --threads (EMBEDDING_THREADS, 0 = the main thread) and --concurrency
 * (WORKER_CONCURRENCY) default to the service's defaults; `--threads 0 --concurrency 1` is the
 * configuration before the embedder moved to worker threads. The raw rate uses the same embedder.
 *
 * Bulk drop (`--only bulk`, and first by default): the service runs on an empty folder and a tree
 * is copied into it with `cp -r` while it watches (issue 12): files dropped, files indexed or
 * failed, seconds until GET /status's figures call the index fresh with every file settled, how
 * many reconciliations queued work the watcher had missed, and how often /status called the index
 * fresh too early. Baselines in the same run: the same files copied one by one into one flat folder
 * while it watches (the copy issue 12 saw indexed completely), and the same tree already in place,
 * found by the start-up scan. `--bulk-files N` (default 1000): a generated tree of N small Markdown files in nested
 * folders; `--bulk-files docs`: the docs corpus (the 112 chapters and 5 PDFs of the issue; minutes).
 *
 * OCR pages per minute and the scanned dr_a_order.pdf's answerability: bench/ocr.ts (--only ocr).
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { basename, join } from "node:path";
import { parseArgs } from "node:util";
import { sql } from "drizzle-orm";
import { createEmbedder, defaultEmbeddingThreads, type Embedder } from "../pipelines/embed/index.js";
import { formatForPath } from "../pipelines/parse/index.js";
import { queryRows } from "../pipelines/store/database.js";
import { createCoreDeps, type CoreDeps } from "../services/common/deps.js";
import { createLogger } from "../services/common/log.js";
import { createProgress } from "../services/common/progress.js";
import { statusReport } from "../services/common/status-report.js";
import { createInProcessQueue } from "../services/common/queue/in-process.js";
import { createSourceWatcher, walk } from "../services/watcher/watcher.js";
import { createWorker } from "../services/common/ingest-worker.js";
import { benchOcr } from "./ocr.js";

const { values: args } = parseArgs({
  options: {
    limit: { type: "string" },
    only: { type: "string" },
    edits: { type: "string", default: "50" },
    "lag-only": { type: "boolean", default: false },
    "raw-sample": { type: "string", default: "3000" },
    "bulk-files": { type: "string", default: "1000" },
    threads: { type: "string", default: String(defaultEmbeddingThreads()) },
    concurrency: { type: "string", default: "2" },
    docs: { type: "string", default: new URL("../../shared/eval-data/docs/", import.meta.url).pathname },
    scifact: {
      type: "string",
      default: new URL("../../shared/eval-data/scifact/corpus.jsonl", import.meta.url).pathname,
    },
  },
});
const MAX_FILE_BYTES = 50 * 1024 * 1024;
const THREADS = Number(args.threads);
const CONCURRENCY = Number(args.concurrency);
const log = createLogger("silent");
const temps: string[] = [];
const temp = (prefix: string) => {
  temps.push(mkdtempSync(join(tmpdir(), prefix)));
  return temps[temps.length - 1]!;
};

/**
 * The real model, timing its own calls so the pipeline's time outside embedding shows. With
 * concurrent jobs calls overlap: `ms` is the time at least one call was running, not their sum.
 */
function timed(inner: Embedder) {
  const t = { ms: 0, texts: 0 };
  let inFlight = 0;
  let busySince = 0;
  const embedder: Embedder = {
    ...inner,
    countTokens: (s) => inner.countTokens(s),
    async embed(texts) {
      if (inFlight++ === 0) {
        busySince = performance.now();
      }
      try {
        return await inner.embed(texts);
      } finally {
        if (--inFlight === 0) {
          t.ms += performance.now() - busySince;
        }
        t.texts += texts.length;
      }
    },
  };
  return { embedder, t };
}

interface Row {
  corpus: string;
  docs: number;
  failed: string;
  chunks: number;
  seconds: number;
  /** Process CPU seconds (all threads): steadier than wall time on a machine others share. */
  cpuSeconds: number;
  embeddedTexts: number;
  embedShare: number;
  rawChunksPerS: number;
  rawChunksPerCpuS: number;
  rawSample: number;
  lagMs: number[];
}

async function runCorpus(name: string, dir: string, editSource: string, model: Embedder): Promise<Row> {
  const { embedder, t } = timed(model);
  const core = await createCoreDeps(
    { DATA_DIR: temp("bench-ingest-db-"), DATABASE_POOL_MAX: 1, EMBEDDING_MODEL: "use-lite", MAX_FILE_BYTES },
    log,
    { embedder },
  );
  const queue = createInProcessQueue({ concurrency: CONCURRENCY });
  createWorker({ core, queue, log, maxFileBytes: MAX_FILE_BYTES }).start();
  const watch = (dirs: string[]) =>
    createSourceWatcher({
      catalog: core.catalog,
      queue,
      log,
      dirs,
      collection: "default",
      maxFileBytes: MAX_FILE_BYTES,
    });
  const count = async () =>
    (await queryRows<{ n: number }>(core.database.db, sql`SELECT count(*)::int AS n FROM chunks`))[0]!.n;

  const cpuSeconds = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  const started = performance.now();
  const cpuStarted = cpuSeconds();
  let files = 0;
  for await (const abs of walk(dir, () => {})) {
    if (formatForPath(abs) !== null) {
      files++;
    }
  }
  const progress = createProgress({ label: `  [${name}] documents`, total: files, stream: process.stdout });
  let seen = 0;
  const poll = setInterval(() => {
    void Promise.all([core.catalog.countDocuments(), count()]).then(([docs, chunks]) => {
      const settled = (docs.indexed ?? 0) + (docs.failed ?? 0);
      progress.tick(settled - seen, `${chunks} chunks`);
      seen = settled;
    });
  }, 1_000);
  const watcher = watch([dir]);
  await watcher.start();
  await queue.idle();
  const seconds = (performance.now() - started) / 1000;
  const pipelineCpu = cpuSeconds() - cpuStarted;
  clearInterval(poll);
  progress.done(`${files} documents`);

  const counts = await core.catalog.countDocuments();
  const failed = await queryRows<{ path: string; error_code: string }>(
    core.database.db,
    sql`SELECT path, error_code FROM documents WHERE status = 'failed'`,
  );
  const texts = (
    await queryRows<{ text: string }>(core.database.db, sql`SELECT text FROM chunks ORDER BY document_id, ordinal`)
  ).map((r) => r.text);
  const row: Row = {
    corpus: name,
    docs: counts.indexed ?? 0,
    failed: failed.map((f) => `${basename(f.path)} (${f.error_code})`).join(", ") || "none",
    chunks: texts.length,
    seconds,
    cpuSeconds: pipelineCpu,
    embeddedTexts: t.texts,
    embedShare: t.ms / 1000 / seconds,
    rawChunksPerS: 0,
    rawChunksPerCpuS: 0,
    rawSample: 0,
    lagMs: await editLag(core, watch, queue, editSource),
  };
  await watcher.close();
  await queue.close();

  const wanted = Number(args["raw-sample"]);
  const sample =
    wanted > 0 && wanted < texts.length ? texts.filter((_, i) => i % Math.ceil(texts.length / wanted) === 0) : texts;
  console.log(`  [${name}] embedding ${sample.length} of the same chunk texts with the model alone…`);
  const rawStart = performance.now();
  const rawCpu = cpuSeconds();
  for (let i = 0; i < sample.length; i += 256) {
    await model.embed(sample.slice(i, i + 256));
  }
  row.rawChunksPerS = sample.length / ((performance.now() - rawStart) / 1000);
  row.rawChunksPerCpuS = sample.length / (cpuSeconds() - rawCpu);
  row.rawSample = sample.length;
  await core.close();
  return row;
}

/** Edits one paragraph of a watched file and polls the store until the new text is there. */
async function editLag(
  core: CoreDeps,
  watch: (dirs: string[]) => ReturnType<typeof createSourceWatcher>,
  queue: ReturnType<typeof createInProcessQueue>,
  source: string,
) {
  const dir = temp("bench-ingest-edit-");
  const file = join(dir, basename(source));
  cpSync(source, file);
  const watcher = watch([dir]);
  await watcher.start();
  await queue.idle();
  const lags: number[] = [];
  for (let i = 0; i < Number(args.edits); i++) {
    const marker = `benchmarker${i}q${Date.now().toString(36)}`;
    const original = readFileSync(source, "utf8");
    const cut = original.indexOf("\n\n", original.indexOf("\n\n") + 2);
    writeFileSync(file, `${original.slice(0, cut)} The edit ${marker} is here.${original.slice(cut)}`);
    const start = performance.now();
    for (;;) {
      const hit = await queryRows(
        core.database.db,
        sql`SELECT 1 FROM chunks c JOIN documents d ON d.id = c.document_id
        WHERE d.path = ${basename(source)} AND c.text LIKE ${`%${marker}%`} LIMIT 1`,
      );
      if (hit.length > 0) {
        break;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    lags.push(performance.now() - start);
  }
  await watcher.close();
  return lags;
}

function scifactFolder(limit: number | undefined): { dir: string; first: string } {
  const dir = temp("bench-ingest-scifact-");
  const lines = readFileSync(args.scifact!, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "");
  const docs = lines
    .slice(0, limit ?? lines.length)
    .map((l) => JSON.parse(l) as { _id: string; title: string; text: string });
  for (const d of docs) {
    writeFileSync(join(dir, `${d._id}.md`), `# ${d.title}\n\n${d.text}\n`);
  }
  return { dir, first: join(dir, `${docs[0]!._id}.md`) };
}

/** Nearest-rank quantile. */
const quantile = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.max(0, Math.ceil(q * xs.length) - 1))] ?? NaN;
const lagSummary = (lags: number[]) =>
  `p50 ${quantile(lags, 0.5).toFixed(0)} ms, p95 ${quantile(lags, 0.95).toFixed(0)} ms, max ${Math.max(...lags).toFixed(0)} ms over ${lags.length} edits (goal p95 < 2000 ms: ${quantile(lags, 0.95) < 2000 ? "met" : "NOT met"})`;

/** Only the edit→searchable lag: a fresh database, one watched file, --edits edits. */
async function lagOnly(source: string, model: Embedder) {
  const core = await createCoreDeps(
    { DATA_DIR: temp("bench-ingest-db-"), DATABASE_POOL_MAX: 1, EMBEDDING_MODEL: "use-lite", MAX_FILE_BYTES },
    log,
    { embedder: model },
  );
  const queue = createInProcessQueue({ concurrency: CONCURRENCY });
  createWorker({ core, queue, log, maxFileBytes: MAX_FILE_BYTES }).start();
  const watch = (dirs: string[]) =>
    createSourceWatcher({
      catalog: core.catalog,
      queue,
      log,
      dirs,
      collection: "default",
      maxFileBytes: MAX_FILE_BYTES,
    });
  const lags = await editLag(core, watch, queue, source);
  await queue.close();
  await core.close();
  console.log(`edit→searchable lag (${basename(source)}): ${lagSummary(lags)}`);
  console.log(`  all (ms): ${lags.map((l) => l.toFixed(0)).join(", ")}`);
}

/** The tree to drop: the docs corpus, or N small generated files in nested folders. */
function bulkTree(): string {
  if (args["bulk-files"] === "docs") {
    return args.docs!.replace(/\/+$/, "");
  }
  const dir = join(temp("bench-ingest-tree-"), "tree");
  const n = Number(args["bulk-files"]);
  for (let i = 0; i < n; i++) {
    const folder = join(dir, `part-${i % 10}`, `chapter-${Math.floor(i / 10) % 10}`);
    mkdirSync(folder, { recursive: true });
    writeFileSync(
      join(folder, `page-${i}.md`),
      `# Page ${i}\n\nThe ledger entry ${i} records ${i % 7} crates of slate shipped from quay ${i % 13}.\n`,
    );
  }
  return dir;
}

/**
 * `drop`: the service starts on an empty folder and `tree` is copied in with `cp -r` while it
 * runs. `flat`: its files are copied one by one into one new folder while it runs. `startup`: the
 * tree is there before it starts (the reconciliation scan finds it).
 * Timed until the status figures call the index fresh and every file is indexed or failed.
 */
async function bulkRun(model: Embedder, tree: string, mode: "drop" | "flat" | "startup") {
  const core = await createCoreDeps(
    { DATA_DIR: temp("bench-ingest-db-"), DATABASE_POOL_MAX: 1, EMBEDDING_MODEL: "use-lite", MAX_FILE_BYTES },
    log,
    { embedder: model },
  );
  const queue = createInProcessQueue({ concurrency: CONCURRENCY });
  createWorker({ core, queue, log, maxFileBytes: MAX_FILE_BYTES }).start();
  const root = temp("bench-ingest-drop-");
  const treeFiles: string[] = [];
  for await (const abs of walk(tree, () => {})) {
    if (formatForPath(abs) !== null) {
      treeFiles.push(abs);
    }
  }
  const dropped = treeFiles.length;
  let reconciliations = 0;
  const counting = createLogger(
    "info",
    {},
    { write: (line: string) => void (JSON.parse(line).msg === "reconciliation queued work" && reconciliations++) },
  );
  const started = performance.now();
  if (mode === "startup") {
    execFileSync("cp", ["-r", tree, join(root, "dropped")]);
  }
  // The service's defaults: reconciled 1 s after a burst settles, and every 5 minutes.
  const watcher = createSourceWatcher({
    catalog: core.catalog,
    queue,
    log: counting,
    dirs: [root],
    collection: "default",
    maxFileBytes: MAX_FILE_BYTES,
    rescanIntervalMs: 5 * 60_000,
  });
  await watcher.start();
  if (mode === "drop") {
    execFileSync("cp", ["-r", tree, join(root, "dropped")]);
  } else if (mode === "flat") {
    mkdirSync(join(root, "flat"));
    for (const [i, abs] of treeFiles.entries()) {
      copyFileSync(abs, join(root, "flat", `${i}-${basename(abs)}`));
    }
  }
  let falseFresh = 0;
  let report: Awaited<ReturnType<typeof statusReport>>;
  for (;;) {
    report = await statusReport(core.database.db, { mismatch: null });
    const d = report.documents;
    const fresh = d.pending === 0 && d.stale === 0 && report.unseen === 0;
    if (fresh && d.indexed + d.failed === dropped) {
      break;
    }
    if (fresh) {
      falseFresh++;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const seconds = (performance.now() - started) / 1000;
  await watcher.close();
  await queue.close();
  await core.close();
  return {
    dropped,
    indexed: report.documents.indexed,
    failed: report.documents.failed,
    seconds,
    reconciliations,
    falseFresh,
  };
}

async function main() {
  const model = await createEmbedder({ model: "use-lite", threads: THREADS });
  console.log(
    `USE-Lite on ${THREADS === 0 ? "the main thread" : `${THREADS} worker thread(s)`}, ${CONCURRENCY} job(s) at once`,
  );
  await model.embed(["warm the model up before anything is timed"]);
  const rows: Row[] = [];
  const limit = args.limit ? Number(args.limit) : undefined;
  if (args.only === "ocr") {
    await benchOcr(args.docs!, model);
    await model.close();
    return;
  }
  if (args["lag-only"]) {
    await lagOnly(join(args.docs!, "rust-book/ch04-01-what-is-ownership.md"), model);
    await model.close();
    return;
  }
  const bulk: Array<[string, Awaited<ReturnType<typeof bulkRun>>]> = [];
  if (args.only === "bulk" || args.only === undefined) {
    const tree = bulkTree();
    console.log(
      `bulk drop: cp -r ${tree} into a watched folder while the service runs; baselines: the same files copied one ` +
        "by one into a flat folder while it runs, and the same tree found at start-up",
    );
    bulk.push(["cp -r while running", await bulkRun(model, tree, "drop")]);
    bulk.push(["one by one into a flat folder while running (baseline)", await bulkRun(model, tree, "flat")]);
    bulk.push(["already there at start-up (baseline)", await bulkRun(model, tree, "startup")]);
  }
  if (args.only === undefined || args.only === "docs") {
    console.log(`docs: ${args.docs} (Markdown + PDF)`);
    rows.push(await runCorpus("docs", args.docs!, join(args.docs!, "rust-book/ch04-01-what-is-ownership.md"), model));
  }
  if (args.only === undefined || args.only === "scifact") {
    const { dir, first } = scifactFolder(limit);
    console.log(`scifact: ${limit ?? "all"} abstracts as Markdown files in ${dir}`);
    rows.push(await runCorpus(limit ? `scifact (${limit})` : "scifact", dir, first, model));
  }

  console.log(
    `\nload average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")} on this machine during the run\n`,
  );
  if (bulk.length) {
    console.log(
      `| bulk drop (${args["bulk-files"]} files) | files dropped | indexed | failed | seconds to fresh | files/s | reconciliations that queued work | /status called it fresh too early |`,
    );
    console.log("|---|---|---|---|---|---|---|---|");
    for (const [name, b] of bulk) {
      console.log(
        `| ${name} | ${b.dropped} | ${b.indexed} | ${b.failed} | ${b.seconds.toFixed(1)} | ${(b.dropped / b.seconds).toFixed(1)} | ${b.reconciliations} | ${b.falseFresh} |`,
      );
    }
    console.log("");
  }
  if (rows.length === 0) {
    return void (await model.close());
  }
  console.log(
    "| corpus | docs | chunks | wall s | docs/s | chunks/s | raw embed chunks/s | pipeline/raw (wall) | pipeline/raw (CPU) | embed share of wall | edit→searchable p50 | p95 |",
  );
  console.log("|---|---|---|---|---|---|---|---|---|---|---|---|");
  for (const r of rows) {
    const chunksPerS = r.chunks / r.seconds;
    const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
    console.log(
      `| ${r.corpus} | ${r.docs} | ${r.chunks} | ${r.seconds.toFixed(1)} | ${(r.docs / r.seconds).toFixed(2)} | ${chunksPerS.toFixed(1)} | ` +
        `${r.rawChunksPerS.toFixed(1)} (n=${r.rawSample}) | ${pct(chunksPerS / r.rawChunksPerS)} | ${pct(r.chunks / r.cpuSeconds / r.rawChunksPerCpuS)} | ` +
        `${pct(r.embedShare)} | ${quantile(r.lagMs, 0.5).toFixed(0)} ms | ${quantile(r.lagMs, 0.95).toFixed(0)} ms |`,
    );
  }
  for (const r of rows) {
    console.log(`${r.corpus}: edit→searchable ${lagSummary(r.lagMs)}`);
  }
  for (const r of rows) {
    console.log(
      `${r.corpus}: failed ${r.failed}; texts sent to the model ${r.embeddedTexts} of ${r.chunks} chunks (the rest came from the cache)`,
    );
  }
  const sci = rows.find((r) => r.corpus.startsWith("scifact ("));
  if (sci) {
    const total = readFileSync(args.scifact!, "utf8")
      .split("\n")
      .filter((l) => l.trim() !== "").length;
    const minutes = total / (sci.docs / sci.seconds) / 60;
    console.log(
      `scifact extrapolated to all ${total} abstracts at ${(sci.docs / sci.seconds).toFixed(2)} docs/s: about ${minutes.toFixed(0)} min`,
    );
  }
  if (!args.only) {
    await benchOcr(args.docs!, model);
  }
  await model.close();
}

try {
  await main();
} finally {
  for (const dir of temps) {
    rmSync(dir, { recursive: true, force: true });
  }
}
