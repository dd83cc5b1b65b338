import { createHash } from "node:crypto";
import { open, stat } from "node:fs/promises";
import { isAbsolute, relative, resolve } from "node:path";
import type { Chunker } from "../chunk/types.js";
import { embedderKey, type Embedder } from "../embed/types.js";
import { isPipelineError, PipelineError } from "../errors.js";
import type { GeneratorTokenizer } from "../generate/tokens.js";
import { parseDocument } from "../parse/index.js";
import type { Catalog } from "../store/catalog.js";
import type { EmbeddingCache } from "../store/embedding-cache.js";
import type { StoredChunk, VectorStore } from "../store/types.js";

export interface IngestDeps {
  catalog: Catalog;
  store: VectorStore;
  embeddingCache: EmbeddingCache;
  embedder: Embedder;
  chunker: Chunker;
  tokenizer: GeneratorTokenizer;
  generationId: number;
  maxFileBytes: number;
}

export interface IndexFileJob {
  sourceId: string;
  root: string;
  collection: string;
  /** Path relative to the source root, with forward slashes. */
  path: string;
  /** The hash the watcher saw; when the file no longer has it, a newer job covers the change. */
  contentHash?: string | undefined;
}

export type IngestOutcome =
  | { status: "indexed"; documentId: string; chunks: number; embedded: number; reused: number }
  | { status: "unchanged"; documentId: string }
  | { status: "superseded" }
  | { status: "removed"; documentId: string | null }
  | { status: "failed"; documentId: string; code: string; message: string };

export const sha256 = (data: Uint8Array | string) => createHash("sha256").update(data).digest("hex");

/**
 * Brings one file's chunks in the index up to date with its content on disk. Unreadable content
 * marks the document failed and keeps its previous chunks; transient errors propagate so the
 * queue retries them.
 */
export async function indexFile(deps: IngestDeps, job: IndexFileJob): Promise<IngestOutcome> {
  const abs = resolveInside(job.root, job.path);
  let bytes: Uint8Array;
  try {
    bytes = await readFileBounded(abs, deps.maxFileBytes);
  } catch (err) {
    // The file is gone: the index follows the folder, so its chunks go too.
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return removeFile(deps, job);
    const problem = toPipelineError(err as Error, job.path);
    const doc = await deps.catalog.ensureDocument(job.sourceId, job.path, job.collection);
    return fail(deps, doc.id, problem);
  }
  const doc = await deps.catalog.ensureDocument(job.sourceId, job.path, job.collection);

  const contentHash = sha256(bytes);
  if (job.contentHash && job.contentHash !== contentHash) return { status: "superseded" };
  if (doc.status === "indexed" && doc.contentHash === contentHash) {
    return { status: "unchanged", documentId: doc.id };
  }

  try {
    const parsed = parseDocument(bytes, job.path);
    const drafts = deps.chunker.chunk(parsed);
    if (drafts.length === 0) {
      throw new PipelineError("empty_document", `${job.path} has no text to index.`);
    }
    const hashes = drafts.map((d) => sha256(d.text));
    const key = embedderKey(deps.embedder.identity);
    const cached = await deps.embeddingCache.getMany(key, [...new Set(hashes)]);
    const missing = [...new Set(hashes.filter((h) => !cached.has(h)))];
    const textsByHash = new Map(drafts.map((d, i) => [hashes[i]!, d.text]));
    const fresh = await embed(deps.embedder, missing.map((h) => textsByHash.get(h)!));
    const embeddings = new Map(cached);
    missing.forEach((h, i) => embeddings.set(h, fresh[i]!));
    await deps.embeddingCache.putMany(key, missing.map((h, i) => ({ textHash: h, embedding: fresh[i]! })));

    const chunks: StoredChunk[] = drafts.map((d, i) => ({
      ordinal: d.ordinal,
      text: d.text,
      textHash: hashes[i]!,
      embedding: embeddings.get(hashes[i]!)!,
      start: d.start,
      end: d.end,
      page: d.page,
      headingPath: d.headingPath,
      tokenCount: deps.tokenizer.count(d.text),
    }));
    await deps.store.replaceDocumentChunks(deps.generationId, { documentId: doc.id, collection: job.collection }, chunks);
    await deps.catalog.markIndexed(doc.id, {
      contentHash,
      format: parsed.format,
      title: parsed.title,
      sizeBytes: bytes.byteLength,
      chunkCount: chunks.length,
      pageCount: parsed.pageCount,
    });
    return { status: "indexed", documentId: doc.id, chunks: chunks.length, embedded: missing.length, reused: hashes.length - missing.length };
  } catch (err) {
    if (isPipelineError(err) && !err.retryable) return fail(deps, doc.id, err);
    throw err;
  }
}

/** Removes a file's document and chunks (the file was deleted or renamed away). */
export async function removeFile(
  deps: Pick<IngestDeps, "catalog" | "store">,
  job: { sourceId: string; path: string },
): Promise<IngestOutcome> {
  const doc = await deps.catalog.getDocument(job.sourceId, job.path);
  if (!doc) return { status: "removed", documentId: null };
  await deps.store.deleteDocumentChunks(doc.id);
  await deps.catalog.deleteDocument(doc.id);
  return { status: "removed", documentId: doc.id };
}

async function fail(deps: IngestDeps, documentId: string, err: PipelineError): Promise<IngestOutcome> {
  await deps.catalog.markFailed(documentId, err.code, err.message);
  return { status: "failed", documentId, code: err.code, message: err.message };
}

async function embed(embedder: Embedder, texts: string[]): Promise<number[][]> {
  if (texts.length === 0) return [];
  try {
    return await embedder.embed(texts);
  } catch (cause) {
    throw new PipelineError("embedding_failed", `The embedder failed: ${(cause as Error).message}`, {
      retryable: true,
      cause,
    });
  }
}

/** Resolves `path` under `root`, refusing `..` escapes. */
export function resolveInside(root: string, path: string): string {
  const abs = resolve(root, path);
  const rel = relative(root, abs);
  if (rel.startsWith("..") || isAbsolute(rel)) {
    throw new PipelineError("permission_denied", `${path} is outside the watched folder ${root}.`);
  }
  return abs;
}

/** Reads a file, refusing it before reading when it is over the size limit. */
async function readFileBounded(abs: string, maxBytes: number): Promise<Uint8Array> {
  const info = await stat(abs);
  if (!info.isFile()) throw new PipelineError("unsupported_format", `${abs} is not a regular file.`);
  if (info.size > maxBytes) {
    throw new PipelineError(
      "file_too_large",
      `The file is ${info.size} bytes, over the limit of ${maxBytes} bytes (MAX_FILE_BYTES).`,
    );
  }
  const handle = await open(abs, "r");
  try {
    return new Uint8Array(await handle.readFile());
  } finally {
    await handle.close();
  }
}

/** Input problems become a PipelineError; anything else (EIO, EMFILE...) is rethrown for a retry. */
function toPipelineError(err: Error, path: string): PipelineError {
  if (isPipelineError(err)) return err;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "EACCES" || code === "EPERM") {
    return new PipelineError("permission_denied", `${path} cannot be read: permission denied.`, { cause: err });
  }
  throw err;
}
