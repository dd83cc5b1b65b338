import { sql, type SQL } from "drizzle-orm";
import type { Drizzle } from "./database.js";
import { analyze, termCounts } from "../retrieve/analyzer.js";
import { ANSERINI_BM25, luceneLength, queryTerms, type Bm25Params } from "../retrieve/bm25.js";

/** How the store ranks chunks lexically. */
export interface LexicalSettings extends Bm25Params {
  /**
   * Share of a chunk's score that comes from its whole document's BM25 score, the rest from the
   * chunk's own. A chunk is too short to hold all of a question's evidence: ranked alone (best chunk
   * per document) it lost 0.019 nDCG@10 to document-level BM25 on SciFact's train split.
   */
  documentWeight: number;
}

/**
 * Lucene's k1 and b as Anserini sets them for BEIR, and the document weight fitted on SciFact's
 * train split by `npm run bench:scifact` (store BM25 over chunks, best chunk per document):
 *
 *   documentWeight        0       0.3     0.5     0.7     1 (document only)
 *   train nDCG@10         0.6786  0.6950  0.6982  0.6995  0.6974
 *   test  nDCG@10         0.6786  0.6876  0.6879  0.6815  0.6789 (Anserini: 0.679)
 *   test  Recall@100      0.9213  0.9213  0.9213  0.9280  0.9253 (Anserini: 0.925)
 */
export const DEFAULT_LEXICAL: LexicalSettings = { ...ANSERINI_BM25, documentWeight: 0.7 };

/** What the lexical index needs of a chunk. */
export interface LexicalChunk {
  id: string;
  text: string;
  headingPath: string[];
  /** Offsets into the document's text: overlapping chunks are counted once in the document field. */
  start: number;
  end: number;
}

/**
 * The text a chunk is indexed under: the headings above it that its text does not already show,
 * then its text. A chunk in the middle of a section still matches its title's words (on SciFact,
 * chunk-only BM25 went from 0.646 to 0.679 nDCG@10 on test with it, measured in memory with this code).
 */
export function chunkField(chunk: Pick<LexicalChunk, "text" | "headingPath">): string {
  const missing = chunk.headingPath.filter((h) => h.trim() !== "" && !chunk.text.includes(h));
  return missing.length > 0 ? `${missing.join("\n")}\n${chunk.text}` : chunk.text;
}

/** The document field: its chunks' text in order, each character once even when chunks overlap. */
export function documentField(chunks: readonly LexicalChunk[]): string {
  const parts: string[] = [];
  let covered = -1;
  for (const c of [...chunks].sort((a, b) => a.start - b.start)) {
    const skip = Math.max(0, Math.min(c.text.length, covered - c.start));
    parts.push(c.text.slice(skip));
    covered = Math.max(covered, c.end);
  }
  return parts.join("\n");
}

type Executor = Pick<Drizzle, "execute">;

/**
 * Writes the BM25 postings of one document's chunks and of the document as a whole, in the
 * caller's transaction (the chunks must be inserted already). Collection statistics follow by
 * trigger. Each table gets one statement, which the triggers rely on.
 */
export async function writeLexicalPostings(
  tx: Executor,
  generationId: number,
  documentId: string,
  chunks: readonly LexicalChunk[],
): Promise<void> {
  const c = { terms: [] as string[], chunkIds: [] as string[], tfs: [] as number[], dls: [] as number[] };
  for (const chunk of chunks) {
    const terms = analyze(chunkField(chunk));
    const dl = luceneLength(terms.length);
    for (const [term, tf] of termCounts(terms)) {
      c.terms.push(term);
      c.chunkIds.push(chunk.id);
      c.tfs.push(tf);
      c.dls.push(dl);
    }
  }
  if (c.terms.length > 0) {
    await tx.execute(sql`
      INSERT INTO lexical_chunk_postings (generation_id, term, chunk_id, document_id, tf, dl)
      SELECT ${generationId}::int, u.term, u.chunk_id, ${documentId}::uuid, u.tf, u.dl
      FROM unnest(${sql.param(c.terms)}::text[], ${sql.param(c.chunkIds)}::uuid[], ${sql.param(c.tfs)}::int[], ${sql.param(c.dls)}::int[])
        AS u(term, chunk_id, tf, dl)`);
  }
  const docTerms = analyze(documentField(chunks));
  if (docTerms.length === 0) {
    return;
  }
  const counts = termCounts(docTerms);
  await tx.execute(sql`
    INSERT INTO lexical_document_postings (generation_id, term, document_id, tf, dl)
    SELECT ${generationId}::int, u.term, ${documentId}::uuid, u.tf, ${luceneLength(docTerms.length)}::int
    FROM unnest(${sql.param([...counts.keys()])}::text[], ${sql.param([...counts.values()])}::int[]) AS u(term, tf)`);
}

/**
 * Removes a document's document-level postings (one generation, or all). Chunk postings go with
 * their chunks by cascade.
 */
export async function deleteDocumentPostings(tx: Executor, documentId: string, generationId?: number): Promise<void> {
  await tx.execute(sql`
    DELETE FROM lexical_document_postings
    WHERE document_id = ${documentId}::uuid ${generationId === undefined ? sql`` : sql`AND generation_id = ${generationId}::int`}`);
}

export interface LexicalQuery {
  generationId: number;
  topK: number;
  /** Restricts results to chunks of these collections (statistics stay the generation's); [] matches none. */
  collections?: readonly string[] | undefined;
  settings: LexicalSettings;
}

/**
 * A query yielding `(chunk_id, score)` for the best `topK` chunks, best first, or null when the
 * query has no indexable term. Scores are Lucene 8+ BM25 (idf · tf / (tf + k1 · (1 − b + b · dl /
 * avgdl)), a repeated query term counted as often as it appears), computed per field from the
 * postings of the query's terms: document frequencies are counted from those same postings, so no
 * per-term statistics need maintaining. Only chunks that contain a query term are candidates.
 */
export function bm25ChunkQuery(query: string, q: LexicalQuery): SQL | null {
  const counts = queryTerms(query);
  if (counts.size === 0) {
    return null;
  }
  const { k1, b, documentWeight: w } = q.settings;
  const g = sql`${q.generationId}::int`;
  const terms = sql`unnest(${sql.param([...counts.keys()])}::text[], ${sql.param([...counts.values()])}::float8[]) AS q(term, qtf)`;
  // One term's weight in one field; `n`/`len` are the field's count and summed length.
  const weight = (n: SQL, len: SQL) =>
    sql`p.qtf * ln(1 + (${n} - df.df + 0.5) / (df.df + 0.5)) * p.tf
        / (p.tf + ${k1}::float8 * (1 - ${b}::float8 + ${b}::float8 * p.dl / (${len}::float8 / ${n})))`;
  // An empty list is a tenant with no collections: it matches nothing, never everything.
  const filter = !q.collections
    ? sql``
    : sql`JOIN chunks c ON c.id = cs.chunk_id AND ${
        q.collections.length === 0
          ? sql`false`
          : sql`c.collection IN (${sql.join(
              q.collections.map((x) => sql`${x}`),
              sql`, `,
            )})`
      }`;
  const documentPart =
    w > 0
      ? sql`,
        dp AS (
          SELECT p.document_id, p.term, p.tf, p.dl, q.qtf
          FROM ${terms} JOIN lexical_document_postings p ON p.term = q.term AND p.generation_id = ${g}
        ),
        ddf AS (SELECT term, count(*)::float8 AS df FROM dp GROUP BY term),
        ds AS (
          SELECT p.document_id, sum(${weight(sql`st.doc_count`, sql`st.doc_length`)}) AS score
          FROM dp p JOIN ddf df USING (term) CROSS JOIN st
          GROUP BY p.document_id
        )`
      : sql``;
  const blended = w > 0 ? sql`${w}::float8 * coalesce(ds.score, 0) + ${1 - w}::float8 * cs.score` : sql`cs.score`;
  return sql`
    WITH st AS (
      SELECT chunk_count, chunk_length, doc_count, doc_length FROM lexical_stats
      WHERE generation_id = ${g} AND chunk_count > 0
    ),
    cp AS (
      SELECT p.chunk_id, p.document_id, p.term, p.tf, p.dl, q.qtf
      FROM ${terms} JOIN lexical_chunk_postings p ON p.term = q.term AND p.generation_id = ${g}
    ),
    cdf AS (SELECT term, count(*)::float8 AS df FROM cp GROUP BY term),
    cs AS (
      SELECT p.chunk_id, p.document_id, sum(${weight(sql`st.chunk_count`, sql`st.chunk_length`)}) AS score
      FROM cp p JOIN cdf df USING (term) CROSS JOIN st
      GROUP BY p.chunk_id, p.document_id
    )${documentPart}
    SELECT cs.chunk_id, ${blended} AS score
    FROM cs ${w > 0 ? sql`LEFT JOIN ds ON ds.document_id = cs.document_id` : sql``} ${filter}
    ORDER BY score DESC, cs.chunk_id
    LIMIT ${q.topK}`;
}
