import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { sql } from "drizzle-orm";
import type { Chunker } from "../chunk/types.js";
import { embedderKey, type Embedder } from "../embed/index.js";
import { parseMarkdown } from "../parse/index.js";
import type { Catalog } from "../store/catalog.js";
import type { Drizzle } from "../store/database.js";
import type { VectorStore } from "../store/types.js";
import { beirMarkdown, corpusHash, EvalInputError, type BeirDataset } from "./beir.js";
import { embedCached, sha256 } from "./vector-cache.js";

/** What makes an indexed BEIR data directory reusable: same embedder, chunker and corpus. */
export function beirIndexKey(embedder: Embedder, chunker: Chunker, dataset: BeirDataset): string {
  return sha256(JSON.stringify([embedderKey(embedder.identity), chunker.settings, corpusHash(dataset.corpus)]));
}

/** The marker the eval leaves in a data directory it built (and only then). */
export interface BeirIndexMarker {
  key: string;
  corpus: string;
  embedder: string;
  chunker: unknown;
  documents: number;
  chunks: number;
  builtAt: string;
  seconds: { chunk: number; embed: number; write: number; hnsw: number };
}

export const MARKER = "eval-index.json";

export function readMarker(dataDir: string): BeirIndexMarker | null {
  const file = `${dataDir}/${MARKER}`;
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as BeirIndexMarker) : null;
}

export interface BuildDeps {
  db: Drizzle;
  catalog: Catalog;
  store: VectorStore;
  embedder: Embedder;
  chunker: Chunker;
  countTokens: (text: string) => number;
  generationId: number;
}

/** Progress of one phase (`createProgress` in services, nothing in tests). */
export type PhaseProgress = (label: string, total: number) => { tick(n?: number): void; done(summary?: string): void };

/**
 * Indexes a BEIR corpus into the (fresh) generation of `deps`: each document as the Markdown file
 * `# title\n\ntext` would be (same parser, chunker, embedder and store write as ingestion, one
 * transaction per document), with embeddings from a file cache so a rebuild never embeds twice.
 * The HNSW index is built once at the end: inserting 25k vectors into a live HNSW graph is several
 * times slower than building it over them.
 */
export async function buildBeirIndex(
  deps: BuildDeps,
  dataset: BeirDataset,
  opts: { dataDir: string; cacheDir: string; key: string; progress: PhaseProgress },
): Promise<BeirIndexMarker> {
  if (dataset.corpus.length === 0) {
    throw new EvalInputError(`${dataset.folder}/corpus.jsonl has no documents`);
  }
  mkdirSync(opts.dataDir, { recursive: true });
  const t0 = performance.now();
  const drafts = dataset.corpus
    .map((d) => ({ doc: d, markdown: beirMarkdown(d) }))
    .map((x) => ({ ...x, chunks: deps.chunker.chunk(parseMarkdown(x.markdown)) }));
  const t1 = performance.now();
  const texts = drafts.flatMap((x) => x.chunks.map((c) => c.text));
  // Shown only when something is missing from the cache, counting what is.
  let embedding: ReturnType<PhaseProgress> | undefined;
  let last = 0;
  const vectors = await embedCached(deps.embedder, texts, {
    dir: opts.cacheDir,
    name: dataset.name,
    onProgress: (done, total) => {
      embedding ??= opts.progress(`embed ${dataset.name}`, total);
      embedding.tick(done - last);
      last = done;
    },
  });
  embedding?.done();
  const t2 = performance.now();
  const g = Math.trunc(deps.generationId);
  await deps.db.execute(sql.raw(`DROP INDEX IF EXISTS chunks_embedding_g${g}`));
  const source = await deps.catalog.upsertSource(dataset.folder, dataset.name);
  const writing = opts.progress(`index ${dataset.name}`, drafts.length);
  for (const { doc, markdown, chunks } of drafts) {
    const row = await deps.catalog.ensureDocument(source, doc.id, dataset.name);
    await deps.store.replaceDocumentChunks(
      deps.generationId,
      { documentId: row.id, collection: dataset.name },
      chunks.map((c) => ({
        ordinal: c.ordinal,
        text: c.text,
        textHash: sha256(c.text),
        embedding: Array.from(vectors.get(sha256(c.text))!),
        start: c.start,
        end: c.end,
        page: c.page,
        headingPath: c.headingPath,
        tokenCount: deps.countTokens(c.text),
      })),
    );
    await deps.catalog.markIndexed(row.id, {
      contentHash: sha256(markdown),
      format: "markdown",
      title: doc.title || null,
      sizeBytes: Buffer.byteLength(markdown),
      chunkCount: chunks.length,
      pageCount: null,
    });
    writing.tick();
  }
  writing.done();
  const t3 = performance.now();
  await deps.store.prepareGeneration(deps.generationId, deps.embedder.identity.dimensions);
  // Fresh statistics, as a server's autovacuum would gather them: with the empty table's estimates
  // the planner sorts every chunk of the generation instead of using the HNSW index /ask relies on.
  await deps.db.execute(sql`ANALYZE chunks`);
  await deps.db.execute(sql`ANALYZE lexical_chunk_postings`);
  await deps.db.execute(sql`ANALYZE lexical_document_postings`);
  const t4 = performance.now();
  const marker: BeirIndexMarker = {
    key: opts.key,
    corpus: dataset.folder,
    embedder: embedderKey(deps.embedder.identity),
    chunker: deps.chunker.settings,
    documents: drafts.length,
    chunks: texts.length,
    builtAt: new Date().toISOString(),
    seconds: { chunk: secs(t1 - t0), embed: secs(t2 - t1), write: secs(t3 - t2), hnsw: secs(t4 - t3) },
  };
  writeFileSync(`${opts.dataDir}/${MARKER}`, JSON.stringify(marker, null, 2));
  return marker;
}

const secs = (ms: number) => Math.round(ms / 100) / 10;
