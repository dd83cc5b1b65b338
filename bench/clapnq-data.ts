/**
 * ClapNQ dev for benchmarks: the questions, and every passage of both files (deduplicated by
 * title + text) written as a Markdown file and ingested through the service's own watcher,
 * in-process queue and worker on in-memory PGlite.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEmbedder, type Embedder } from "../pipelines/embed/index.js";
import { createCoreDeps, type CoreDeps } from "../services/common/deps.js";
import { createLogger } from "../services/common/log.js";
import { createMetrics } from "../services/common/metrics.js";
import { createInProcessQueue } from "../services/common/queue/in-process.js";
import type { JobQueue } from "../services/common/queue/types.js";
import { createSourceWatcher } from "../services/watcher/watcher.js";
import { createWorker } from "../services/common/ingest-worker.js";

export const DEFAULT_CLAPNQ_DIR = new URL("../../shared/eval-data/clapnq/", import.meta.url).pathname;
const MAX_FILE_BYTES = 1_000_000;

export interface Passage {
  title: string;
  text: string;
}
export interface Item {
  id: string;
  input: string;
  passages: Passage[];
  /** One entry per annotator: the reference answer and the passage sentences that bear it (empty when unanswerable). */
  output?: Array<{ answer: string; selected_sentences: string[] }>;
}
export interface Question {
  item: Item;
  kind: "answerable" | "unanswerable";
}

const read = (dir: string, name: string): Item[] =>
  readFileSync(join(dir, name), "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Item);

const key = (p: Passage) => createHash("sha256").update(`${p.title}\u0000${p.text}`).digest("hex").slice(0, 16);
/** The file a passage is indexed as; a citation's basename equals it when the passage is cited. */
export const fileOf = (p: Passage) => `p-${key(p)}.md`;

export function readClapnq(dir: string = DEFAULT_CLAPNQ_DIR): { answerable: Item[]; unanswerable: Item[] } {
  return {
    answerable: read(dir, "clapnq_dev_answerable.jsonl"),
    unanswerable: read(dir, "clapnq_dev_unanswerable.jsonl"),
  };
}

/**
 * The fixed split used to fit and to report the answerability judge: half A fits, half B reports.
 * By a hash of the question id, so it does not depend on file order and is the same every run.
 */
export const halfOf = (item: Item): "A" | "B" =>
  createHash("sha256").update(item.id).digest()[0]! % 2 === 0 ? "A" : "B";

export interface IndexedClapnq {
  core: CoreDeps;
  queue: JobQueue;
  metrics: ReturnType<typeof createMetrics>;
  embedder: Embedder;
  passages: number;
  indexed: number;
  failed: number;
  seconds: number;
  close(): Promise<void>;
}

/** Indexes ALL passages of both files (not only those of the questions asked). */
export async function indexClapnq(items: Item[]): Promise<IndexedClapnq> {
  const log = createLogger("silent");
  const dir = mkdtempSync(join(tmpdir(), "bench-clapnq-src-"));
  const dataDir = mkdtempSync(join(tmpdir(), "bench-clapnq-db-"));
  const passages = new Map<string, Passage>();
  for (const item of items) {
    for (const p of item.passages) {
      passages.set(fileOf(p), p);
    }
  }
  for (const [file, p] of passages) {
    writeFileSync(join(dir, file), `# ${p.title}\n\n${p.text}\n`);
  }

  const embedder = await createEmbedder("use-lite");
  const core = await createCoreDeps(
    { DATA_DIR: dataDir, DATABASE_POOL_MAX: 1, EMBEDDING_MODEL: "use-lite", MAX_FILE_BYTES },
    log,
    { embedder, inMemory: true },
  );
  const queue = createInProcessQueue();
  const metrics = createMetrics({ queue: () => queue });
  createWorker({ core, queue, log, maxFileBytes: MAX_FILE_BYTES, metrics }).start();
  const watcher = createSourceWatcher({
    catalog: core.catalog,
    queue,
    log,
    dirs: [dir],
    collection: "default",
    maxFileBytes: MAX_FILE_BYTES,
  });
  const t0 = performance.now();
  await watcher.start();
  await queue.idle();
  const counts = await core.catalog.countDocuments();
  return {
    core,
    queue,
    metrics,
    embedder,
    passages: passages.size,
    indexed: counts.indexed ?? 0,
    failed: counts.failed ?? 0,
    seconds: (performance.now() - t0) / 1000,
    async close() {
      await watcher.close();
      await queue.close();
      await core.close();
      await embedder.close();
      rmSync(dir, { recursive: true, force: true });
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export const pct = (n: number, d: number) => (d ? `${((100 * n) / d).toFixed(1)}%` : "n/a");
