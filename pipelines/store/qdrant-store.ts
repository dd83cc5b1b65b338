import { createHash } from "node:crypto";
import { QdrantClient, type Schemas } from "@qdrant/js-client-rest";
import { eq } from "drizzle-orm";
import { documents } from "../../schemas/db.js";
import { analyze, termCounts } from "../retrieve/analyzer.js";
import { ANSERINI_BM25, bm25TermScore, luceneLength, queryTerms } from "../retrieve/bm25.js";
import { chunkField } from "./bm25-postings.js";
import { type ChunkRow, chunkFieldsOf } from "./chunk-row.js";
import type { Drizzle } from "./database.js";
import type { ChunkHit, SearchOptions, StoredChunk, VectorStore } from "./types.js";

export interface QdrantStoreOptions {
  url: string;
  apiKey?: string | undefined;
  /** Prepended to every collection name, so several services (or tests) can share one Qdrant. */
  collectionPrefix?: string | undefined;
  /** The service database: the payload's sourceId and path are read from its documents table. */
  db: Drizzle;
  /** Qdrant's `hnsw_ef` for dense queries; the server's default when unset. */
  hnswEf?: number | undefined;
}

const DENSE = "dense";
const LEXICAL = "lexical";
// Qdrant applies IDF at query time but cannot know the average chunk length, and weights are fixed
// when a point is written. Chunks are token-bounded (about 126 word pieces, some 45 analysed terms),
// so a constant average is close, and b = 0.4 keeps what error remains small.
const AVG_CHUNK_TERMS = 45;

/**
 * Vectors in Qdrant, one collection per index generation (`<prefix>g<id>`): a named cosine dense
 * vector and a sparse BM25 vector (term-frequency saturation weights from the shared analyzer; the
 * collection's `idf` modifier supplies the IDF, so scores are BM25 up to the fixed average length;
 * the query's values are its term counts, as Anserini weighs a repeated query term). Chunks are
 * indexed under the same field as pgvector's BM25 (missing headings, then text); its blend with a
 * whole-document score has no equivalent here, so Qdrant's lexical side is chunk-level BM25.
 */
export function createQdrantStore(opts: QdrantStoreOptions): VectorStore {
  // The compatibility check is a request at construction whose failure only goes to console.warn,
  // outside the JSON log; an unreachable server fails prepareGeneration at start-up instead.
  const client = new QdrantClient({ url: opts.url, apiKey: opts.apiKey, checkCompatibility: false });
  const prefix = opts.collectionPrefix ?? "rag_";
  const name = (generationId: number) => `${prefix}g${Math.trunc(generationId)}`;
  let versionSeq = 0;

  async function exists(collection: string): Promise<boolean> {
    return (await client.collectionExists(collection)).exists;
  }

  async function search(query: Schemas["QueryInterface"], using: string, o: SearchOptions): Promise<ChunkHit[]> {
    // An empty list is a tenant with no collections: it matches nothing, never everything.
    if (o.collections && o.collections.length === 0) {
      return [];
    }
    const res = await client.query(name(o.generationId), {
      query,
      using,
      limit: o.topK,
      filter: o.collections ? { must: [{ key: "collection", match: { any: [...o.collections] } }] } : undefined,
      params: using === DENSE && opts.hnswEf ? { hnsw_ef: opts.hnswEf } : undefined,
      with_payload: true,
    });
    return res.points.map((p) => toHit(String(p.id), p.score, p.payload as unknown as Payload));
  }

  return {
    async prepareGeneration(generationId, dimensions) {
      const collection = name(generationId);
      if (!(await exists(collection))) {
        try {
          await client.createCollection(collection, {
            vectors: { [DENSE]: { size: dimensions, distance: "Cosine" } },
            sparse_vectors: { [LEXICAL]: { modifier: "idf" } },
          });
        } catch (err) {
          // Another process preparing the same generation won the race; anything else is real.
          if (!(await exists(collection))) {
            throw err;
          }
        }
      }
      const info = await client.getCollection(collection);
      const vectors = info.config.params.vectors as Record<string, { size?: number }> | undefined;
      const size = vectors?.[DENSE]?.size;
      if (size !== dimensions) {
        throw new Error(`Qdrant collection ${collection} holds ${size}-dimensional vectors, not ${dimensions}`);
      }
      // Idempotent on the server; keyword indexes make the collection and document filters cheap.
      for (const field of ["collection", "document_id"]) {
        await client.createPayloadIndex(collection, { field_name: field, field_schema: "keyword", wait: true });
      }
    },

    async replaceDocumentChunks(generationId, doc, chunks) {
      const collection = name(generationId);
      const row = (
        await opts.db
          .select({ sourceId: documents.sourceId, path: documents.path })
          .from(documents)
          .where(eq(documents.id, doc.documentId))
      )[0];
      if (!row) {
        throw new Error(`document ${doc.documentId} does not exist`);
      }
      // Qdrant has no multi-operation transaction, so this is not the atomic swap pgvector gives.
      // Deleting first would leave readers a window with no chunks at all for the document (and a
      // crash in between would lose it until the job retries). Upserting first, then deleting what
      // an older write left, means readers briefly see the new chunks plus the old chunks at
      // ordinals past the new count (same ordinals share a point id and are overwritten), never
      // nothing. Versions increase, so of two racing replaces the later one's delete wins.
      const version = Date.now() * 1000 + (versionSeq++ % 1000);
      if (chunks.length > 0) {
        await client.upsert(collection, {
          wait: true,
          points: chunks.map((c) => ({
            id: pointId(generationId, doc.documentId, c.ordinal),
            vector: { [DENSE]: c.embedding, ...lexicalVector(chunkField(c)) },
            payload: payloadOf(c, { ...doc, ...row, version }),
          })),
        });
      }
      await client.delete(collection, {
        wait: true,
        filter: {
          must: [
            { key: "document_id", match: { value: doc.documentId } },
            { key: "version", range: { lt: version } },
          ],
        },
      });
    },

    async deleteDocumentChunks(documentId) {
      // Like pgvector's, this removes the document from every generation, not only the active one.
      const all = (await client.getCollections()).collections.map((c) => c.name);
      const ours = all.filter((n) => n.startsWith(prefix) && /^g\d+$/.test(n.slice(prefix.length)));
      for (const collection of ours) {
        await client.delete(collection, {
          wait: true,
          filter: { must: [{ key: "document_id", match: { value: documentId } }] },
        });
      }
    },

    async dropGeneration(generationId) {
      // The collection is the generation: deleting it frees vectors, payload and indexes at once.
      if (await exists(name(generationId))) {
        await client.deleteCollection(name(generationId));
      }
    },

    searchDense: (embedding, o) => search(embedding, DENSE, o),

    async searchLexical(query, o) {
      const q = sparseVector(queryTerms(query), (tf) => tf);
      if (q.indices.length === 0) {
        return [];
      }
      return search(q, LEXICAL, o);
    },

    async countChunks(generationId) {
      const collection = name(generationId);
      if (!(await exists(collection))) {
        return 0;
      }
      return (await client.count(collection, { exact: true })).count;
    },
  };
}

/** Point ids must be a uuid or an integer: a name-based uuid keeps a chunk's id stable across re-indexing. */
export function pointId(generationId: number, documentId: string, ordinal: number): string {
  const h = createHash("sha256").update(`${generationId}/${documentId}/${ordinal}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x50; // version 5 layout (name-based), sha256 truncated
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString("hex");
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/**
 * Term counts as a Qdrant sparse vector, one index per term, valued `weight(count)`. Terms are
 * hashed to 32 bits rather than kept in a vocabulary, so writers on several hosts share no state;
 * with 100k distinct terms about one pair collides, which merges two rare terms' counts.
 */
export function sparseVector(counts: Map<string, number>, weight: (tf: number) => number): Schemas["SparseVector"] {
  const tf = new Map<number, number>();
  for (const [term, n] of counts) {
    const i = fnv1a(term);
    tf.set(i, (tf.get(i) ?? 0) + n);
  }
  const indices = [...tf.keys()];
  return { indices, values: indices.map((i) => weight(tf.get(i)!)) };
}

/**
 * A chunk's BM25 term weight without the IDF (the collection's `idf` modifier applies it at query
 * time), scored as the pgvector side's BM25 scores it: Anserini's k1 and b, Lucene's length rounding.
 */
export const bm25Weight = (tf: number, length: number) =>
  bm25TermScore(1, tf, luceneLength(length), AVG_CHUNK_TERMS, ANSERINI_BM25);

function lexicalVector(text: string): Record<string, Schemas["SparseVector"]> {
  const terms = analyze(text);
  const v = sparseVector(termCounts(terms), (tf) => bm25Weight(tf, terms.length));
  // A chunk with no indexable terms (digits-only, stopwords) simply has no lexical vector.
  return v.indices.length > 0 ? { [LEXICAL]: v } : {};
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(s, "utf8")) {
    h = Math.imul(h ^ byte, 0x01000193);
  }
  return h >>> 0;
}

// The SQL row's citation fields (the point id is the chunk id), with the heading path always an
// array and the document version. A type alias, not an interface: the client's payload type needs
// an index signature.
type Payload = Omit<ChunkRow, "chunk_id" | "heading_path"> & { heading_path: string[]; version: number };

function payloadOf(
  c: StoredChunk,
  d: { documentId: string; sourceId: string; path: string; collection: string; version: number },
): Payload {
  // path is denormalised from the documents table for citations; a rename is a new document row,
  // so a document's path never changes under its chunks.
  return {
    document_id: d.documentId,
    source_id: d.sourceId,
    path: d.path,
    collection: d.collection,
    ordinal: c.ordinal,
    text: c.text,
    page: c.page,
    heading_path: c.headingPath,
    token_count: c.tokenCount,
    version: d.version,
  };
}

function toHit(id: string, score: number, p: Payload): ChunkHit {
  return { ...chunkFieldsOf({ chunk_id: id, ...p }), score };
}
