/** A chunk ready to store: drafted, hashed and embedded. */
export interface StoredChunk {
  ordinal: number;
  text: string;
  textHash: string;
  embedding: number[];
  start: number;
  end: number;
  page: number | null;
  headingPath: string[];
  tokenCount: number;
}

/** A search result: the chunk with enough of its document to cite it. */
export interface ChunkHit {
  chunkId: string;
  documentId: string;
  sourceId: string;
  path: string;
  collection: string;
  ordinal: number;
  text: string;
  page: number | null;
  headingPath: string[];
  tokenCount: number;
  /** Higher is better; the scale depends on the retriever (cosine similarity, text rank). */
  score: number;
}

export interface SearchOptions {
  generationId: number;
  topK: number;
  /**
   * Restricts results to these collections; all when omitted, none when empty (a tenant whose
   * key names no collection present). See scoped-store.ts for how a key's set is imposed.
   */
  collections?: readonly string[] | undefined;
  /**
   * Lexical search only: share of a chunk's BM25 taken from its whole document, overriding the
   * store's default (a generation's fitted blend). Stores without a document field ignore it.
   */
  documentWeight?: number | undefined;
}

/**
 * Where chunk vectors and their text live. One contract, several stores (pgvector today).
 * Every write for one document is atomic: readers see the old chunks or the new ones, never a mix.
 */
export interface VectorStore {
  /** Creates what a generation needs (the HNSW index for its dimension). Idempotent. */
  prepareGeneration(generationId: number, dimensions: number): Promise<void>;
  replaceDocumentChunks(
    generationId: number,
    doc: { documentId: string; collection: string },
    chunks: StoredChunk[],
  ): Promise<void>;
  deleteDocumentChunks(documentId: string): Promise<void>;
  searchDense(embedding: number[], opts: SearchOptions): Promise<ChunkHit[]>;
  searchLexical(query: string, opts: SearchOptions): Promise<ChunkHit[]>;
  countChunks(generationId: number): Promise<number>;
  /**
   * The stored vectors of these chunks that the store holds in memory (none when it holds none),
   * limited to `collections` when given. Never a search and never a database read: a request
   * reuses the vectors of chunks it retrieved instead of embedding their text again.
   */
  storedVectors?(
    generationId: number,
    chunkIds: readonly string[],
    collections?: readonly string[] | undefined,
  ): Map<string, Float32Array>;
  /** Removes every chunk, posting and index of a retired or failed generation. Idempotent. */
  dropGeneration(generationId: number): Promise<void>;
}

/** Runs a multi-statement SQL script on one session (migrations need this; drizzle's execute does not). */
export interface ScriptSession {
  exec(script: string): Promise<void>;
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
}

/** What migrations need of a database (database.ts's Database is one): a session held for a whole run. */
export interface SessionSource {
  withSession<T>(fn: (session: ScriptSession) => Promise<T>): Promise<T>;
}
