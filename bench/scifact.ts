/**
 * SciFact (BEIR) retrieval benchmark: the lexical retriever against Lucene/Anserini's BM25, the
 * store's SQL BM25 over chunks, USE-Lite dense retrieval, and hybrid fusion with the dense weight
 * fitted on the train split and reported on test. Figures only, no assertions.
 *
 *   npm run bench:scifact -- [--data ../shared/eval-data/scifact] [--prepare] [--no-dense] [--no-latency] [--threads N]
 *
 * Chunks and embeddings are cached under bench/out/ (about 10 minutes of embedding on two cores
 * the first time). The BEIR reader, the metrics and the embedding cache are the eval command's
 * (pipelines/eval/); `npm run eval -- --beir` measures the service's own index end to end. Documents are ingested as Markdown `# title\n\nabstract`, chunked by the
 * service's chunker at the embedder's limit and written through the store, as a file would be.
 * Dense search is exact cosine in memory over the same chunk vectors (the HNSW index would only
 * add approximation); fusion is the service's own functions from pipelines/retrieve/hybrid.ts.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { sql } from "drizzle-orm";
import { createChunker, defaultChunkerSettings } from "../pipelines/chunk/structure-chunker.js";
import { createEmbedder, embedderKey } from "../pipelines/embed/index.js";
import { readBeir, readQrels, type BeirDocument } from "../pipelines/eval/beir.js";
import { evaluateRun, percentile as nearestRank, rankByScore } from "../pipelines/eval/metrics.js";
import { embedCached } from "../pipelines/eval/vector-cache.js";
import { parseMarkdown } from "../pipelines/parse/index.js";
import { createBm25Index } from "../pipelines/retrieve/bm25.js";
import { DEFAULT_LEXICAL } from "../pipelines/store/bm25-postings.js";
import { minMaxFusion, rrfFusion, type Scored } from "../pipelines/retrieve/hybrid.js";
import { createCatalog } from "../pipelines/store/catalog.js";
import { openDatabase, queryRows } from "../pipelines/store/database.js";
import { MIGRATIONS_DIR } from "../pipelines/store/migrate.js";
import { createPgvectorStore } from "../pipelines/store/pgvector-store.js";
import type { ChunkHit } from "../pipelines/store/types.js";

const { values: args } = parseArgs({
  options: {
    data: { type: "string", default: new URL("../../shared/eval-data/scifact/", import.meta.url).pathname },
    prepare: { type: "boolean", default: false },
    "no-dense": { type: "boolean", default: false },
    "no-latency": { type: "boolean", default: false },
    threads: { type: "string", default: String(Math.max(1, availableParallelism())) },
  },
});
const OUT = new URL("./out/", import.meta.url).pathname;
mkdirSync(OUT, { recursive: true });
const DEPTH = 1000; // documents per query in a run, as Anserini's BEIR runs
const CHUNK_DEPTH = 1000; // chunks fetched from each retriever before aggregation or fusion
const PRODUCTION_CANDIDATES = 50; // what retrieve() fetches per retriever for topK up to 10
const DOC_WEIGHTS = [0, 0.3, 0.5, 0.7, 1];
const DENSE_WEIGHTS = [0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.7, 1];

// ---------------------------------------------------------------------------------------------
// Data

type Doc = BeirDocument;
const beir = readBeir(args.data);
const docs: Doc[] = beir.corpus;
const queryText = beir.queries;
const splits = { train: readQrels(args.data, "train"), test: readQrels(args.data, "test") };
type Split = keyof typeof splits;
/** A run: per query, documents with scores (any order). */
type Run = Map<string, Map<string, number>>;

const allQueries = [...new Set([...splits.train.keys(), ...splits.test.keys()])];

// ---------------------------------------------------------------------------------------------
// Metrics, as trec_eval computes them (ties broken by document id, descending)

function evaluate(run: Run, split: Split): { ndcg10: number; recall100: number } {
  const ranked = new Map([...run].map(([q, scores]) => [q, rankByScore(scores, DEPTH)]));
  const { ndcg10, recall100 } = evaluateRun(ranked, splits[split]);
  return { ndcg10, recall100 };
}

/** Per-chunk scores to per-document scores. */
const aggregations: Record<string, (scores: number[]) => number> = {
  max: (s) => Math.max(...s),
  "max+0.1·rest": (s) => {
    const m = Math.max(...s);
    return m + 0.1 * (s.reduce((a, b) => a + b, 0) - m);
  },
  sum: (s) => s.reduce((a, b) => a + b, 0),
};

function toDocuments(hits: Scored[], docOf: (chunkId: string) => string, agg = aggregations.max!): Map<string, number> {
  const by = new Map<string, number[]>();
  for (const h of hits) {
    const d = docOf(h.id);
    if (!by.has(d)) {
      by.set(d, []);
    }
    by.get(d)!.push(h.score);
  }
  return new Map([...by].map(([d, s]) => [d, agg(s)]));
}

const fmt = (x: number) => x.toFixed(4);
const row = (cells: Array<string | number>, widths: number[]) =>
  cells.map((c, i) => (typeof c === "number" ? fmt(c) : c).padEnd(widths[i] ?? 10)).join("  ");
function table(title: string, header: string[], rows: Array<Array<string | number>>) {
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.map((r) => (typeof r[i] === "number" ? 6 : String(r[i]).length))),
  );
  console.log(`\n${title}\n${row(header, widths)}\n${widths.map((w) => "-".repeat(w)).join("  ")}`);
  for (const r of rows) {
    console.log(row(r, widths));
  }
}

const percentile = (xs: number[], p: number) => nearestRank(xs, p) ?? NaN;

// ---------------------------------------------------------------------------------------------
// (a) BM25 over whole documents in memory: the analyzer's correctness check against Anserini

const results: Record<string, unknown> = {};
const documentRun = documentBm25();

function documentBm25(): Run {
  const t0 = performance.now();
  const index = createBm25Index();
  for (const d of docs) {
    index.add(d.id, `${d.title} ${d.text}`);
  }
  const built = performance.now() - t0;
  const run: Run = new Map();
  const t1 = performance.now();
  for (const q of allQueries) {
    run.set(q, new Map(index.search(queryText.get(q)!, DEPTH).map((h) => [h.id, h.score])));
  }
  const perQuery = (performance.now() - t1) / allQueries.length;
  const test = evaluate(run, "test");
  const train = evaluate(run, "train");
  table(
    `(a) BM25 over whole documents, in memory (k1 0.9, b 0.4; ${docs.length} documents indexed in ${(built / 1000).toFixed(1)} s, ${perQuery.toFixed(2)} ms a query)`,
    ["split", "nDCG@10", "Recall@100", "Anserini (test)"],
    [
      ["test", test.ndcg10, test.recall100, "0.679 / 0.925"],
      ["train", train.ndcg10, train.recall100, ""],
    ],
  );
  results.documentBm25 = { test, train };
  return run;
}

// ---------------------------------------------------------------------------------------------
// Chunks and embeddings, cached

// One model thread per core: the corpus is 25k chunks.
const embedder = await createEmbedder({ model: "use-lite", threads: Number(args.threads) });
const chunker = createChunker(defaultChunkerSettings(embedder.maxInputTokens - 2), (t) => embedder.countTokens(t));
const sha = (s: string) => createHash("sha256").update(s).digest("hex");

interface BenchChunk {
  doc: string;
  ordinal: number;
  text: string;
  start: number;
  end: number;
  headingPath: string[];
  tokenCount: number;
}

function chunkCorpus(): BenchChunk[] {
  const key = sha(
    JSON.stringify([
      embedderKey(embedder.identity),
      chunker.settings,
      docs.length,
      sha(docs.map((d) => d.id + d.title + d.text).join("\n")),
    ]),
  );
  const file = `${OUT}/scifact-chunks.json`;
  if (existsSync(file)) {
    const cached = JSON.parse(readFileSync(file, "utf8")) as { key: string; chunks: BenchChunk[] };
    if (cached.key === key) {
      return cached.chunks;
    }
  }
  const t0 = performance.now();
  const chunks: BenchChunk[] = [];
  for (const d of docs) {
    for (const c of chunker.chunk(parseMarkdown(`# ${d.title}\n\n${d.text}\n`))) {
      chunks.push({
        doc: d.id,
        ordinal: c.ordinal,
        text: c.text,
        start: c.start,
        end: c.end,
        headingPath: c.headingPath,
        tokenCount: c.tokenCount,
      });
    }
  }
  console.log(
    `\nchunked ${docs.length} documents into ${chunks.length} chunks in ${((performance.now() - t0) / 1000).toFixed(0)} s`,
  );
  writeFileSync(file, JSON.stringify({ key, chunks }));
  return chunks;
}

const chunks = chunkCorpus();
const docOfChunk = (i: string) => chunks[Number(i)]!.doc;
const vectors = args["no-dense"]
  ? new Map<string, Float32Array>()
  : await embedCached(embedder, [...chunks.map((c) => c.text), ...allQueries.map((q) => queryText.get(q)!)], {
      dir: OUT,
      name: "scifact",
      onProgress: (done, total) => process.stdout.write(`\r  embedded ${done}/${total}   `),
    });
if (args.prepare) {
  console.log(`prepared: ${chunks.length} chunks${args["no-dense"] ? "" : `, ${vectors.size} vectors`}`);
  process.exit(0);
}

// ---------------------------------------------------------------------------------------------
// (b) The store's SQL BM25 over chunks, on PGlite, through replaceDocumentChunks

// The ingested database is kept under bench/out/, keyed by the chunks and by the code that writes
// the index, so a rerun skips the ingestion (about ten minutes on two busy cores).
const indexKey = sha(
  JSON.stringify([
    chunks.length,
    sha(chunks.map((c) => c.text).join("\u0000")),
    ...[
      "../pipelines/retrieve/analyzer.ts",
      "../pipelines/retrieve/porter.ts",
      "../pipelines/retrieve/bm25.ts",
      "../pipelines/store/bm25-postings.ts",
    ].map((f) => sha(readFileSync(new URL(f, import.meta.url), "utf8"))),
    ...readdirSync(MIGRATIONS_DIR)
      .sort()
      .map((f) => sha(readFileSync(`${MIGRATIONS_DIR}/${f}`, "utf8"))),
  ]),
).slice(0, 12);
// Opened only when a list is not cached yet, or for the latency figures.
const listsFile = `${OUT}/scifact-lexical-${indexKey}.json`;
const cachedLists = existsSync(listsFile)
  ? (JSON.parse(readFileSync(listsFile, "utf8")) as Record<string, Record<string, [number[], number[]]>>)
  : {};
const needStore = DOC_WEIGHTS.some((w) => !(String(w) in cachedLists)) || !args["no-latency"];
const { database, generationId, chunkIndex } = needStore
  ? await openStore()
  : { database: undefined, generationId: 0, chunkIndex: new Map<string, number>() };

async function openStore() {
  const dataDir = `${OUT}/scifact-pglite-${indexKey}`;
  const reuse = existsSync(`${dataDir}/ready`);
  if (!reuse) {
    rmSync(dataDir, { recursive: true, force: true });
  }
  const database = await openDatabase({ dataDir });
  await database.migrate();
  const catalog = createCatalog(database.db);
  // Chunk ids in the store map back to the bench's chunk index through (document, ordinal).
  const chunkIndex = new Map<string, number>();
  const chunkAt = new Map(chunks.map((c, i) => [`${c.doc}.md/${c.ordinal}`, i]));
  let generationId: number;
  if (reuse) {
    generationId = (
      await queryRows<{ id: number }>(database.db, sql`SELECT id FROM index_generations WHERE status = 'active'`)
    )[0]!.id;
    const rows = await queryRows<{ document_id: string; ordinal: number; path: string }>(
      database.db,
      sql`SELECT c.document_id, c.ordinal, d.path FROM chunks c JOIN documents d ON d.id = c.document_id`,
    );
    for (const r of rows) {
      chunkIndex.set(`${r.document_id}/${r.ordinal}`, chunkAt.get(`${r.path}/${r.ordinal}`)!);
    }
    console.log(`\nstore: reusing the ingested database ${dataDir.slice(dataDir.lastIndexOf("/") + 1)}`);
  } else {
    const [gen] = await queryRows<{ id: number }>(
      database.db,
      sql`
      INSERT INTO index_generations (embedder_key, embedder, chunker, status)
      VALUES (${embedderKey(embedder.identity)}, ${JSON.stringify(embedder.identity)}::jsonb, ${JSON.stringify(chunker.settings)}::jsonb, 'active')
      RETURNING id`,
    );
    generationId = gen!.id;
    const source = await catalog.upsertSource("/scifact", "scifact");
    // Dense is scored in memory, so the store's vectors only have to satisfy the column.
    const zero = new Array<number>(embedder.identity.dimensions).fill(0);
    const store = createPgvectorStore(database.db);
    const byDoc = new Map<string, number[]>();
    chunks.forEach((c, i) => {
      (byDoc.get(c.doc) ?? byDoc.set(c.doc, []).get(c.doc)!).push(i);
    });
    const t0 = performance.now();
    for (const [n, d] of docs.entries()) {
      const row = await catalog.ensureDocument(source, `${d.id}.md`, "scifact");
      const mine = byDoc.get(d.id) ?? [];
      for (const i of mine) {
        chunkIndex.set(`${row.id}/${chunks[i]!.ordinal}`, i);
      }
      await store.replaceDocumentChunks(
        generationId,
        { documentId: row.id, collection: "scifact" },
        mine.map((i) => {
          const c = chunks[i]!;
          return {
            ordinal: c.ordinal,
            text: c.text,
            textHash: sha(c.text),
            embedding: zero,
            start: c.start,
            end: c.end,
            page: null,
            headingPath: c.headingPath,
            tokenCount: c.tokenCount,
          };
        }),
      );
      if (n % 250 === 249) {
        process.stdout.write(`\r  ingested ${n + 1}/${docs.length} documents   `);
      }
    }
    const [s] = await queryRows<Record<string, number>>(
      database.db,
      sql`
      SELECT (SELECT count(*) FROM lexical_chunk_postings)::int AS chunk_postings,
             (SELECT count(*) FROM lexical_document_postings)::int AS doc_postings,
             chunk_count::int, doc_count::int FROM lexical_stats WHERE generation_id = ${generationId}`,
    );
    console.log(
      `\nstore: ${docs.length} documents, ${s!.chunk_count} chunks written through replaceDocumentChunks in ${((performance.now() - t0) / 1000).toFixed(0)} s ` +
        `(${s!.chunk_postings} chunk postings, ${s!.doc_postings} document postings; PGlite on disk, no HNSW index)`,
    );
    writeFileSync(`${dataDir}/ready`, new Date().toISOString());
  }
  return { database, generationId, chunkIndex };
}

const hitId = (h: ChunkHit) => String(chunkIndex.get(`${h.documentId}/${h.ordinal}`));
async function lexicalRuns(documentWeight: number, queries: string[], topK = CHUNK_DEPTH) {
  const store = createPgvectorStore(database!.db, { lexical: { documentWeight } });
  const lists = new Map<string, Scored[]>();
  const ms: number[] = [];
  for (const q of queries) {
    const t0 = performance.now();
    const hits = await store.searchLexical(queryText.get(q)!, { generationId, topK });
    ms.push(performance.now() - t0);
    lists.set(
      q,
      hits.map((h) => ({ id: hitId(h), score: h.score })),
    );
  }
  return { lists, ms };
}
const docRun = (lists: Map<string, Scored[]>, agg = aggregations.max!): Run =>
  new Map([...lists].map(([q, hits]) => [q, toDocuments(hits, docOfChunk, agg)]));

// Sweep the document/chunk blend on train; chunk-only is also shown under other aggregations.
const trainQueries = [...splits.train.keys()];
const testQueries = [...splits.test.keys()];
const blendRows: Array<Array<string | number>> = [];
const lexicalByWeight = new Map<number, Map<string, Scored[]>>();
for (const w of DOC_WEIGHTS) {
  const cached = cachedLists[String(w)];
  const lists = cached
    ? new Map(
        Object.entries(cached).map(([q, [ids, scores]]) => [
          q,
          ids.map((id, i) => ({ id: String(id), score: scores[i]! })),
        ]),
      )
    : (await lexicalRuns(w, allQueries)).lists;
  if (!cached) {
    cachedLists[String(w)] = Object.fromEntries(
      [...lists].map(([q, hits]) => [q, [hits.map((h) => Number(h.id)), hits.map((h) => h.score)]]),
    );
    writeFileSync(listsFile, JSON.stringify(cachedLists));
    process.stdout.write(`\r  documentWeight ${w}: ${allQueries.length} queries searched   `);
  }
  lexicalByWeight.set(w, lists);
  const aggs = w === 0 ? Object.keys(aggregations) : ["max"];
  for (const a of aggs) {
    const run = docRun(lists, aggregations[a]);
    const tr = evaluate(run, "train");
    const te = evaluate(run, "test");
    blendRows.push([String(w), a, tr.ndcg10, tr.recall100, te.ndcg10, te.recall100]);
  }
}
table(
  "(b) store SQL BM25 over chunks (heading indexed with each chunk), per document by aggregation; documentWeight blends in document-level BM25",
  ["documentWeight", "chunks→doc", "train nDCG@10", "train R@100", "test nDCG@10", "test R@100"],
  blendRows,
);
const bestBlend = DOC_WEIGHTS.map((w) => ({ w, ndcg: evaluate(docRun(lexicalByWeight.get(w)!), "train").ndcg10 })).sort(
  (a, b) => b.ndcg - a.ndcg || a.w - b.w,
)[0]!;
console.log(
  `best documentWeight on train: ${bestBlend.w} (store default DEFAULT_LEXICAL.documentWeight = ${DEFAULT_LEXICAL.documentWeight})`,
);
results.storeBm25 = { sweep: blendRows, bestDocumentWeight: bestBlend.w };

// Latency on PGlite, the default weight, as /ask asks (50 candidates) and as the benchmark does.
if (!args["no-latency"]) {
  // A reused on-disk database starts cold: the first query reads its pages. Warm it first.
  await lexicalRuns(DEFAULT_LEXICAL.documentWeight, trainQueries.slice(0, 50), PRODUCTION_CANDIDATES);
  const lat: Array<Array<string | number>> = [];
  for (const topK of [PRODUCTION_CANDIDATES, CHUNK_DEPTH]) {
    const { ms } = await lexicalRuns(DEFAULT_LEXICAL.documentWeight, testQueries, topK);
    lat.push([
      String(topK),
      `${percentile(ms, 0.5).toFixed(1)} ms`,
      `${percentile(ms, 0.95).toFixed(1)} ms`,
      `${percentile(ms, 1).toFixed(1)} ms`,
    ]);
  }
  const { ms } = await lexicalRuns(0, testQueries, PRODUCTION_CANDIDATES);
  lat.push([
    `${PRODUCTION_CANDIDATES} (chunk only)`,
    `${percentile(ms, 0.5).toFixed(1)} ms`,
    `${percentile(ms, 0.95).toFixed(1)} ms`,
    `${percentile(ms, 1).toFixed(1)} ms`,
  ]);
  table(
    `store searchLexical latency on PGlite (in process), ${testQueries.length} test queries`,
    ["topK", "p50", "p95", "max"],
    lat,
  );
  results.latency = lat;
}
await database?.close();

// ---------------------------------------------------------------------------------------------
// Dense (exact cosine over the chunk vectors) and fusion

if (!args["no-dense"]) {
  const dims = embedder.identity.dimensions;
  const matrix = new Float32Array(chunks.length * dims);
  chunks.forEach((c, i) => {
    matrix.set(vectors.get(sha(c.text))!, i * dims);
  });
  const denseLists = new Map<string, Scored[]>();
  for (const q of allQueries) {
    const v = vectors.get(sha(queryText.get(q)!))!;
    const scores = new Float32Array(chunks.length);
    for (let i = 0; i < chunks.length; i++) {
      let s = 0;
      const o = i * dims;
      for (let j = 0; j < dims; j++) {
        s += matrix[o + j]! * v[j]!;
      }
      scores[i] = s;
    }
    const order = [...scores.keys()].sort((a, b) => scores[b]! - scores[a]!).slice(0, CHUNK_DEPTH);
    denseLists.set(
      q,
      order.map((i) => ({ id: String(i), score: scores[i]! })),
    );
  }
  // The lexical side as fitted on train (the store's default is set from this table).
  const lexicalLists = lexicalByWeight.get(bestBlend.w)!;

  type Fuse = (dense: Scored[], lexical: Scored[], w: number) => Map<string, number>;
  const fusedRun = (fuse: Fuse, w: number, candidates: number): Run =>
    new Map(
      allQueries.map((q) => {
        const fused = fuse(denseLists.get(q)!.slice(0, candidates), lexicalLists.get(q)!.slice(0, candidates), w);
        return [
          q,
          toDocuments(
            [...fused].map(([id, score]) => ({ id, score })),
            docOfChunk,
          ),
        ];
      }),
    );
  const methods: Record<string, Fuse> = {
    "min-max": minMaxFusion,
    "weighted RRF (k 60)": (d, l, w) => rrfFusion(d, l, w),
  };
  const sweep: Array<Array<string | number>> = [];
  const fitted: Record<string, { w: number; ndcg: number }> = {};
  for (const [name, fuse] of Object.entries(methods)) {
    for (const w of DENSE_WEIGHTS) {
      const full = evaluate(fusedRun(fuse, w, CHUNK_DEPTH), "train");
      const prod = evaluate(fusedRun(fuse, w, PRODUCTION_CANDIDATES), "train");
      sweep.push([name, String(w), prod.ndcg10, full.ndcg10, full.recall100]);
      // Fitted where it is used: /ask fuses 50 candidates a side; ties go to the smaller weight.
      if (!fitted[name] || prod.ndcg10 > fitted[name].ndcg + 1e-9) {
        fitted[name] = { w, ndcg: prod.ndcg10 };
      }
    }
  }
  table(
    `fusion sweep on train (${trainQueries.length} queries): chunk lists fused, then best chunk per document`,
    [
      "method",
      "dense weight",
      `nDCG@10 (${PRODUCTION_CANDIDATES}+${PRODUCTION_CANDIDATES})`,
      `nDCG@10 (${CHUNK_DEPTH}+${CHUNK_DEPTH})`,
      "R@100",
    ],
    sweep,
  );
  for (const [name, f] of Object.entries(fitted)) {
    console.log(`fitted ${name}: dense weight ${f.w} (train nDCG@10 ${fmt(f.ndcg)})`);
  }

  const denseRun = docRun(denseLists);
  const lexicalRun = docRun(lexicalLists);
  const rows: Array<Array<string | number>> = [];
  const add = (name: string, run: Run) => {
    const tr = evaluate(run, "train");
    const te = evaluate(run, "test");
    rows.push([name, te.ndcg10, te.recall100, tr.ndcg10, tr.recall100]);
  };
  add("BM25, whole documents (in memory, Anserini setup)", documentRun);
  add("BM25, store over chunks, chunk only (max)", docRun(lexicalByWeight.get(0)!));
  add(`BM25, store over chunks, documentWeight ${bestBlend.w} (max)`, lexicalRun);
  add("USE-Lite dense, best chunk", denseRun);
  for (const [name, f] of Object.entries(fitted)) {
    add(
      `hybrid ${name}, dense ${f.w}, ${PRODUCTION_CANDIDATES}+${PRODUCTION_CANDIDATES}`,
      fusedRun(methods[name]!, f.w, PRODUCTION_CANDIDATES),
    );
    add(`hybrid ${name}, dense ${f.w}, ${CHUNK_DEPTH}+${CHUNK_DEPTH}`, fusedRun(methods[name]!, f.w, CHUNK_DEPTH));
  }
  table(
    `SciFact test (${testQueries.length} queries), weights fitted on train`,
    ["retriever", "test nDCG@10", "test R@100", "train nDCG@10", "train R@100"],
    rows,
  );
  results.fusion = { sweep, fitted, table: rows };
}
writeFileSync(`${OUT}/scifact-results.json`, JSON.stringify(results, null, 2));
await embedder.close();
process.exit(0);
