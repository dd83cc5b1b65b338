import type { Chunker } from "../chunk/types.js";
import type { Embedder } from "../embed/types.js";
import { isPipelineError, PipelineError } from "../errors.js";
import type { GeneratorTokenizer } from "../generate/tokens.js";
import { maskParsedText } from "../guard/pii.js";
import { parseDocument } from "../parse/index.js";
import { summarizeTextLayer, type PdfOcr } from "../parse/ocr.js";
import { spanAttributes, withSpan } from "../tracing.js";
import type { Catalog } from "../store/catalog.js";
import type { EmbeddingCache } from "../store/embedding-cache.js";
import type { PageStore } from "../store/page-queries.js";
import type { StoredChunk, VectorStore } from "../store/types.js";
import { embedWithCache, sha256 } from "./embed-chunks.js";
import { readSourceFile, resolveInside, stillExists } from "./read-source.js";

export { resolveInside, sha256 };

export interface IngestDeps {
  catalog: Catalog;
  store: VectorStore;
  embeddingCache: EmbeddingCache;
  embedder: Embedder;
  chunker: Chunker;
  tokenizer: GeneratorTokenizer;
  generationId: number;
  maxFileBytes: number;
  /** PII_MASK_INGEST: mask personal data before chunking and embedding; chunk offsets then refer to the masked text. */
  maskPii?: boolean | undefined;
  /** Reads PDF pages without a text layer (OCR_ENGINE); unset: such pages are left out. */
  ocr?: PdfOcr | undefined;
  /** Records each document's text layer and pages (0015); unset: not recorded. */
  pages?: PageStore | undefined;
}

export interface IndexFileJob {
  sourceId: string;
  root: string;
  collection: string;
  /** Path relative to the source root, with forward slashes. */
  path: string;
  /** The hash the watcher saw; when the file no longer has it, a newer job covers the change. */
  contentHash?: string | undefined;
  /** Index even when this content is already indexed (a new generation is being built). */
  force?: boolean | undefined;
}

export type IngestOutcome =
  | { status: "indexed"; documentId: string; chunks: number; embedded: number; reused: number }
  | { status: "unchanged"; documentId: string }
  | { status: "superseded" }
  | { status: "removed"; documentId: string | null }
  | { status: "failed"; documentId: string; code: string; message: string };

/**
 * Brings one file's chunks in the index up to date with its content on disk: unchanged content is
 * skipped, only chunks with new text are embedded, and the document's chunks are swapped in one
 * transaction. Unreadable content marks the document failed and keeps its previous chunks; a file
 * that is gone, before or while it is processed, takes its chunks with it. Transient errors
 * propagate so the queue retries them.
 */
export function indexFile(deps: IngestDeps, job: IndexFileJob): Promise<IngestOutcome> {
  const attrs = {
    "rag.source.id": job.sourceId,
    "rag.document.path": job.path,
    "rag.generation.id": deps.generationId,
  };
  return withSpan("ingest.index_file", attrs, async (span) => {
    const outcome = await indexFileStages(deps, job);
    span.setAttribute("rag.outcome", outcome.status);
    if ("documentId" in outcome && outcome.documentId) {
      span.setAttribute("rag.document.id", outcome.documentId);
    }
    if (outcome.status === "indexed") {
      span.setAttributes({
        "rag.chunks": outcome.chunks,
        "rag.chunks.embedded": outcome.embedded,
        "rag.chunks.reused": outcome.reused,
      });
    } else if (outcome.status === "failed") {
      span.setAttribute("rag.error.code", outcome.code);
    }
    return outcome;
  });
}

async function indexFileStages(deps: IngestDeps, job: IndexFileJob): Promise<IngestOutcome> {
  const abs = resolveInside(job.root, job.path);
  let read: Awaited<ReturnType<typeof readSourceFile>>;
  try {
    read = await withSpan("ingest.read", { "rag.document.path": job.path }, async (span) => {
      // With the root: a symbolic link that leads outside it is refused, and the reason recorded.
      const r = await readSourceFile(abs, job.path, deps.maxFileBytes, job.root);
      if (r.kind === "file") {
        span.setAttribute("rag.bytes", r.bytes.byteLength);
      }
      return r;
    });
  } catch (err) {
    if (!isPipelineError(err) || err.retryable) {
      throw err;
    }
    const doc = await deps.catalog.ensureDocument(job.sourceId, job.path, job.collection);
    return fail(deps, doc.id, err);
  }
  if (read.kind === "gone") {
    return removeFile(deps, job);
  }
  const { bytes } = read;

  const contentHash = sha256(bytes);
  if (job.contentHash && job.contentHash !== contentHash) {
    return { status: "superseded" };
  }
  const doc = await deps.catalog.ensureDocument(job.sourceId, job.path, job.collection);
  if (!job.force && doc.status === "indexed" && doc.contentHash === contentHash) {
    return { status: "unchanged", documentId: doc.id };
  }

  try {
    const ids = { "rag.document.id": doc.id, "rag.document.path": job.path };
    const parsed = await withSpan("ingest.parse", ids, async (span) => {
      // Masked before chunking (PII_MASK_INGEST), so neither stored text, postings nor vectors hold it.
      const raw = await parseDocument(bytes, job.path, { ocr: deps.ocr });
      const p = deps.maskPii ? { ...raw, ...maskParsedText(raw) } : raw;
      span.setAttributes(spanAttributes({ "rag.format": p.format, "rag.pages": p.pageCount }));
      return p;
    });
    const drafts = withSpan("ingest.chunk", ids, (span) => {
      const d = deps.chunker.chunk(parsed);
      span.setAttribute("rag.chunks", d.length);
      return d;
    });
    if (drafts.length === 0) {
      throw new PipelineError("empty_document", `"${job.path}" has no text to index once parsed.`, {
        context: { path: job.path },
      });
    }
    const embedded = await withSpan("ingest.embed", { ...ids, "rag.chunks": drafts.length }, async (span) => {
      const e = await embedWithCache(
        deps,
        drafts.map((d) => d.text),
      );
      span.setAttributes({ "rag.chunks.embedded": e.embedded, "rag.chunks.reused": e.reused });
      return e;
    });
    // Embedding is the slow step: a file deleted meanwhile must not come back from the dead.
    if (!(await stillExists(abs))) {
      return removeFile(deps, job);
    }

    const chunks: StoredChunk[] = drafts.map((d, i) => ({
      ordinal: d.ordinal,
      text: d.text,
      textHash: embedded.hashes[i]!,
      embedding: embedded.vectors[i]!,
      start: d.start,
      end: d.end,
      page: d.page,
      headingPath: d.headingPath,
      tokenCount: deps.tokenizer.count(d.text),
    }));
    const tokens = chunks.reduce((n, c) => n + c.tokenCount, 0);
    await withSpan(
      "ingest.store",
      { ...ids, "rag.chunks": chunks.length, "rag.tokens": tokens, "rag.generation.id": deps.generationId },
      async () => {
        await deps.store.replaceDocumentChunks(
          deps.generationId,
          { documentId: doc.id, collection: job.collection },
          chunks,
        );
        await deps.catalog.markIndexed(doc.id, {
          contentHash,
          format: parsed.format,
          title: parsed.title,
          sizeBytes: bytes.byteLength,
          chunkCount: chunks.length,
          pageCount: parsed.pageCount,
        });
        await deps.pages?.record(doc.id, summarizeTextLayer(parsed.pages), parsed.pages);
      },
    );
    return {
      status: "indexed",
      documentId: doc.id,
      chunks: chunks.length,
      embedded: embedded.embedded,
      reused: embedded.reused,
    };
  } catch (err) {
    if (isPipelineError(err) && !err.retryable) {
      return fail(deps, doc.id, err);
    }
    throw err;
  }
}

/** Removes a file's document and chunks (the file was deleted or renamed away). */
export async function removeFile(
  deps: Pick<IngestDeps, "catalog" | "store">,
  job: { sourceId: string; path: string },
): Promise<IngestOutcome> {
  const doc = await deps.catalog.getDocument(job.sourceId, job.path);
  if (!doc) {
    return { status: "removed", documentId: null };
  }
  await deps.store.deleteDocumentChunks(doc.id);
  await deps.catalog.deleteDocument(doc.id);
  return { status: "removed", documentId: doc.id };
}

async function fail(deps: Pick<IngestDeps, "catalog">, documentId: string, err: PipelineError): Promise<IngestOutcome> {
  await deps.catalog.markFailed(documentId, err.code, err.message);
  return { status: "failed", documentId, code: err.code, message: err.message };
}
