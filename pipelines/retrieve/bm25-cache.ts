import { sql, type SQL } from "drizzle-orm";
import { queryRows, type Drizzle } from "../store/database.js";
import { queryTerms } from "./bm25.js";
import type { LexicalQuery } from "../store/bm25-postings.js";

/** One term's postings in one field, as parallel arrays (compact, and scanned in order). */
interface Postings {
  /** Chunk field: chunk index into `chunkIds`; document field: document index into `documentIds`. */
  ids: Int32Array;
  tfs: Int32Array;
  dls: Int32Array;
}

/** A generation's postings read so far, valid while `lexical_stats.version` does not change. */
interface GenerationCache {
  version: string;
  stats: { chunkCount: number; chunkLength: number; docCount: number; docLength: number };
  chunkIds: string[];
  chunkIndex: Map<string, number>;
  chunkDocument: number[];
  chunkCollection: string[];
  documentIds: string[];
  documentIndex: Map<string, number>;
  chunkTerms: Map<string, Postings>;
  documentTerms: Map<string, Postings>;
  postings: number;
  /** Every term of this version is cached (the background read finished): a term not cached has no postings. */
  complete: boolean;
}

export interface LexicalHit {
  chunkId: string;
  score: number;
}

/**
 * BM25 over the store's postings, with each term's postings cached in memory per generation.
 * Every query reads `lexical_stats` (one row: the collection statistics and a version that
 * migration 0010_b bumps on every postings write, in the writer's transaction) and, in the same
 * snapshot, only the postings of terms not cached yet. A changed version (any process ingested)
 * empties the cache, so every process scores against what is committed, never a stale copy.
 *
 * The scores are the SQL query's (`bm25ChunkQuery`): the same formula, evaluated in the same order,
 * in float64; ties broken by chunk id. Measured on 2,300 chunks: see README "Performance".
 */
export function createBm25Cache(db: Drizzle, opts: { maxPostings?: number; warmMaxChunks?: number } = {}) {
  // About 40 bytes a posting: 5M is 200 MB, about 100k chunks of prose. Beyond, start again.
  const maxPostings = opts.maxPostings ?? 5_000_000;
  const caches = new Map<number, GenerationCache>();
  // A generation this small is read whole once per version, in the background, so questions with new
  // terms do not each pay a postings read (about 80 postings a chunk: 10k chunks is 800k rows).
  const warmMaxChunks = opts.warmMaxChunks ?? 10_000;

  /** Reads every posting of the version `c` caches, unless the version moved meanwhile. */
  function warm(generationId: number, c: GenerationCache) {
    if (c.stats.chunkCount > warmMaxChunks) {
      return;
    }
    setImmediate(() => {
      void db
        .transaction(
          async (tx) => {
            const t = tx as unknown as Drizzle;
            const [v] = await queryRows<{ version: string }>(
              t,
              sql`SELECT version::text FROM lexical_stats WHERE generation_id = ${generationId}::int`,
            );
            if (v?.version !== c.version || caches.get(generationId) !== c) {
              return;
            }
            await fill(t, c, generationId, null);
            c.complete = true;
          },
          { isolationLevel: "repeatable read", accessMode: "read only" },
        )
        // A failed warm-up costs only speed: queries read their terms as they come.
        .catch(() => {});
    });
  }

  async function load(generationId: number, terms: string[]): Promise<GenerationCache | null> {
    // The usual case, a warm cache: one single-row read of the version, no transaction.
    const known = caches.get(generationId);
    if (known && (known.complete || terms.every((x) => known.chunkTerms.has(x)))) {
      const [v] = await queryRows<{ version: string }>(
        db,
        sql`SELECT version::text FROM lexical_stats WHERE generation_id = ${generationId}::int AND chunk_count > 0`,
      );
      if (v?.version === known.version) {
        return known;
      }
    }
    return db.transaction(
      async (tx) => {
        const t = tx as unknown as Drizzle;
        const [st] = await queryRows<{
          version: string;
          chunk_count: string;
          chunk_length: string;
          doc_count: string;
          doc_length: string;
        }>(
          t,
          sql`SELECT version::text, chunk_count, chunk_length, doc_count, doc_length FROM lexical_stats
              WHERE generation_id = ${generationId}::int AND chunk_count > 0`,
        );
        if (!st) {
          caches.delete(generationId);
          return null;
        }
        let c = caches.get(generationId);
        if (!c || c.version !== st.version || c.postings > maxPostings) {
          c = {
            version: st.version,
            stats: {
              chunkCount: Number(st.chunk_count),
              chunkLength: Number(st.chunk_length),
              docCount: Number(st.doc_count),
              docLength: Number(st.doc_length),
            },
            chunkIds: [],
            chunkIndex: new Map(),
            chunkDocument: [],
            chunkCollection: [],
            documentIds: [],
            documentIndex: new Map(),
            chunkTerms: new Map(),
            documentTerms: new Map(),
            postings: 0,
            complete: false,
          };
          caches.set(generationId, c);
          warm(generationId, c);
        }
        const missing = c.complete ? [] : terms.filter((x) => !c.chunkTerms.has(x));
        if (missing.length > 0) {
          await fill(t, c, generationId, missing);
        }
        return c;
      },
      // One snapshot for the version and the postings read under it (PGlite is one session anyway).
      { isolationLevel: "repeatable read", accessMode: "read only" },
    );
  }

  /** Reads the postings of `terms` (null: every term of the generation) into `c`; cached terms are kept. */
  async function fill(t: Drizzle, c: GenerationCache, generationId: number, terms: string[] | null) {
    const only = (col: SQL) => (terms ? sql`AND ${col} = ANY(${sql.param(terms)}::text[])` : sql``);
    const docIdx = (id: string) => {
      let i = c.documentIndex.get(id);
      if (i === undefined) {
        i = c.documentIds.push(id) - 1;
        c.documentIndex.set(id, i);
      }
      return i;
    };
    const chunkRows = await queryRows<{
      term: string;
      chunk_id: string;
      document_id: string;
      collection: string;
      tf: number;
      dl: number;
    }>(
      t,
      sql`SELECT p.term, p.chunk_id, p.document_id, c.collection, p.tf, p.dl
          FROM lexical_chunk_postings p JOIN chunks c ON c.id = p.chunk_id
          WHERE p.generation_id = ${generationId}::int ${only(sql`p.term`)}`,
    );
    const docRows = await queryRows<{ term: string; document_id: string; tf: number; dl: number }>(
      t,
      sql`SELECT term, document_id, tf, dl FROM lexical_document_postings
          WHERE generation_id = ${generationId}::int ${only(sql`term`)}`,
    );
    const group = <R>(rows: R[], key: (r: R) => string, cached: Map<string, Postings>) => {
      // A term asked for and absent is cached too (as no postings): it is not read again.
      const out = new Map<string, R[]>((terms ?? []).map((x) => [x, []]));
      for (const r of rows) {
        const k = key(r);
        if (!terms && !out.has(k)) {
          out.set(k, []);
        }
        out.get(k)?.push(r);
      }
      // Terms another query cached meanwhile stay as they are.
      for (const k of [...out.keys()]) {
        if (cached.has(k)) {
          out.delete(k);
        }
      }
      return out;
    };
    const chunkGroups = group(chunkRows, (r) => r.term, c.chunkTerms);
    const docGroups = group(docRows, (r) => r.term, c.documentTerms);
    if (!terms) {
      for (const k of chunkGroups.keys()) {
        if (!docGroups.has(k)) {
          docGroups.set(k, []);
        }
      }
    }
    for (const [term, rows] of chunkGroups) {
      const p: Postings = {
        ids: new Int32Array(rows.length),
        tfs: new Int32Array(rows.length),
        dls: new Int32Array(rows.length),
      };
      rows.forEach((r, i) => {
        let k = c.chunkIndex.get(r.chunk_id);
        if (k === undefined) {
          k = c.chunkIds.push(r.chunk_id) - 1;
          c.chunkIndex.set(r.chunk_id, k);
          c.chunkDocument.push(docIdx(r.document_id));
          c.chunkCollection.push(r.collection);
        }
        p.ids[i] = k;
        p.tfs[i] = Number(r.tf);
        p.dls[i] = Number(r.dl);
      });
      c.chunkTerms.set(term, p);
      c.postings += rows.length;
    }
    for (const [term, rows] of docGroups) {
      const p: Postings = {
        ids: new Int32Array(rows.length),
        tfs: new Int32Array(rows.length),
        dls: new Int32Array(rows.length),
      };
      rows.forEach((r, i) => {
        p.ids[i] = docIdx(r.document_id);
        p.tfs[i] = Number(r.tf);
        p.dls[i] = Number(r.dl);
      });
      c.documentTerms.set(term, p);
      c.postings += rows.length;
    }
  }

  return {
    /** The best `topK` chunks for `query`, best first, scored exactly as `bm25ChunkQuery` scores them. */
    async search(query: string, q: LexicalQuery): Promise<LexicalHit[]> {
      const counts = queryTerms(query);
      if (counts.size === 0 || (q.collections && q.collections.length === 0)) {
        return [];
      }
      const c = await load(q.generationId, [...counts.keys()]);
      if (!c) {
        return [];
      }
      const { k1, b, documentWeight: w } = q.settings;
      const { chunkCount, chunkLength, docCount, docLength } = c.stats;
      // Accumulated per field in query-term order, as the SQL's sum() does per group.
      const chunkScore = new Map<number, number>();
      const docScore = new Map<number, number>();
      const add = (acc: Map<number, number>, p: Postings, qtf: number, n: number, len: number) => {
        const df = p.ids.length;
        for (let i = 0; i < p.ids.length; i++) {
          const tf = p.tfs[i]!;
          const s =
            (qtf * Math.log(1 + (n - df + 0.5) / (df + 0.5)) * tf) / (tf + k1 * (1 - b + (b * p.dls[i]!) / (len / n)));
          acc.set(p.ids[i]!, (acc.get(p.ids[i]!) ?? 0) + s);
        }
      };
      for (const [term, qtf] of counts) {
        const cp = c.chunkTerms.get(term);
        if (cp) {
          add(chunkScore, cp, qtf, chunkCount, chunkLength);
        }
        const dp = w > 0 ? c.documentTerms.get(term) : undefined;
        if (dp) {
          add(docScore, dp, qtf, docCount, docLength);
        }
      }
      const allowed = q.collections ? new Set(q.collections) : null;
      const hits: LexicalHit[] = [];
      for (const [k, cs] of chunkScore) {
        if (allowed && !allowed.has(c.chunkCollection[k]!)) {
          continue;
        }
        const score = w > 0 ? w * (docScore.get(c.chunkDocument[k]!) ?? 0) + (1 - w) * cs : cs;
        hits.push({ chunkId: c.chunkIds[k]!, score });
      }
      return topK(hits, q.topK);
    },
  };
}

export type Bm25Cache = ReturnType<typeof createBm25Cache>;

/** Best first, ties by chunk id (as the SQL's ORDER BY score DESC, chunk_id); a partial sort for small k. */
function topK(hits: LexicalHit[], k: number): LexicalHit[] {
  const cmp = (a: LexicalHit, b: LexicalHit) =>
    b.score - a.score || (a.chunkId < b.chunkId ? -1 : a.chunkId > b.chunkId ? 1 : 0);
  return hits.sort(cmp).slice(0, k);
}
