import type { Chunker } from "../chunk/types.js";
import type { Embedder } from "../embed/types.js";
import type { GeneratorTokenizer } from "../generate/tokens.js";
import { indexFile, type IngestDeps } from "../ingest/index-file.js";
import type { Catalog, DocumentRow, GenerationRow } from "../store/catalog.js";
import type { EmbeddingCache } from "../store/embedding-cache.js";
import type { VectorStore } from "../store/types.js";

export interface BuildDeps {
  catalog: Catalog;
  store: VectorStore;
  embeddingCache: EmbeddingCache;
  tokenizer: GeneratorTokenizer;
  maxFileBytes: number;
  /** PII_MASK_INGEST, so a re-index masks exactly what live ingestion masks. */
  maskPii?: boolean | undefined;
  /** OCR and the page store, as live ingestion has them (IngestDeps). */
  ocr?: IngestDeps["ocr"];
  pages?: IngestDeps["pages"];
}

export interface BuildTarget {
  embedder: Embedder;
  chunker: Chunker;
}

export interface BuildResult {
  generationId: number;
  retiredId: number | null;
  done: number;
  failed: number;
}

// Documents that changed while the build ran are indexed again; a folder that never stops
// changing must not keep the build from finishing, so the catch-up passes are bounded.
const MAX_CATCH_UP_PASSES = 3;

/**
 * Builds a complete new index generation beside the active one, which keeps answering, then
 * switches to it in one transaction. Each document is read again from its source, so the new
 * generation reflects the files as they are now; documents that the live ingestion changed
 * during the build are caught up before and once after the switch.
 */
export async function buildGeneration(
  deps: BuildDeps,
  target: BuildTarget,
  /** The generation row from `catalog.startBuild`, so a caller can report its id at once. */
  gen: GenerationRow,
  onProgress: (p: { generationId: number; total: number; done: number; failed: number }) => void = () => {},
): Promise<BuildResult> {
  const indexed = new Map<string, string | null>(); // document id → content hash it was built from
  let done = 0;
  let failed = 0;
  try {
    await deps.store.prepareGeneration(gen.id, target.embedder.identity.dimensions);
    const sources = new Map<string, { root: string; collection: string }>();

    async function build(doc: DocumentRow) {
      let source = sources.get(doc.sourceId);
      if (!source) {
        const row = await deps.catalog.getSource(doc.sourceId);
        if (!row) {
          return;
        }
        source = { root: row.root, collection: row.collection };
        sources.set(doc.sourceId, source);
      }
      const outcome = await indexFile(
        { ...deps, embedder: target.embedder, chunker: target.chunker, generationId: gen.id },
        { sourceId: doc.sourceId, root: source.root, collection: source.collection, path: doc.path, force: true },
      );
      const now = await deps.catalog.getDocument(doc.sourceId, doc.path);
      indexed.set(doc.id, now?.contentHash ?? null);
      if (outcome.status === "failed") {
        failed++;
      }
      done++;
    }

    const all = await deps.catalog.allDocuments();
    await deps.catalog.buildProgress(gen.id, { total: all.length });
    for (const doc of all) {
      await build(doc);
      await deps.catalog.buildProgress(gen.id, { done, failed });
      onProgress({ generationId: gen.id, total: all.length, done, failed });
    }
    const catchUp = async () => {
      for (let pass = 0; pass < MAX_CATCH_UP_PASSES; pass++) {
        const stale = (await deps.catalog.allDocuments()).filter((d) => indexed.get(d.id) !== d.contentHash);
        if (stale.length === 0) {
          return;
        }
        for (const doc of stale) {
          await build(doc);
        }
      }
    };
    await catchUp();
    const retired = await deps.catalog.activate(gen.id);
    await catchUp();
    return { generationId: gen.id, retiredId: retired?.id ?? null, done, failed };
  } catch (err) {
    await deps.catalog.failBuild(gen.id, (err as Error).message);
    await deps.store.dropGeneration(gen.id).catch(() => {});
    throw err;
  }
}
