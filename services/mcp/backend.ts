import { z } from "zod";
import { searchPassages, type Passage } from "../../pipelines/answer/search.js";
import { embedderKey } from "../../pipelines/embed/types.js";
import { fusionFor } from "../../pipelines/retrieve/hybrid.js";
import { listCollections, type CollectionSummary } from "../../pipelines/store/collection-queries.js";
import { createDocumentQueries } from "../../pipelines/store/document-queries.js";
import { documentText } from "../../pipelines/store/document-text.js";
import { scopedStore } from "../../pipelines/store/scoped-store.js";
import type { AskResponse } from "../../schemas/api.js";
import { requireKnownCollection } from "../api/collections.js";
import type { ApiDeps } from "../api/context.js";
import { ApiError } from "../api/errors.js";
import { askThroughRoute, type Asker } from "../api/internal-ask.js";
import type { CoreDeps, ServedIndex } from "../common/deps.js";
import { statusReport } from "../common/status-report.js";

/** What the MCP tools do, for one caller (its key's collections), over HTTP or stdio alike. */
export interface RagBackend {
  listCollections(): Promise<CollectionSummary[]>;
  search(input: { query: string; collection?: string | undefined; topK: number }): Promise<Passage[]>;
  ask(input: {
    question: string;
    collection?: string | undefined;
    history?: Array<{ role: "user" | "assistant"; content: string }> | undefined;
  }): Promise<AskResponse>;
  getDocument(id: string, maxChars: number): Promise<Record<string, unknown>>;
  indexStatus(): Promise<Awaited<ReturnType<typeof statusReport>>>;
}

/**
 * The tools' backend for `asker`: tenancy is the key's collection scope, applied as the HTTP
 * routes apply it (scoped store, scoped catalog reads, unknown collections refused with the valid
 * ones). `ask` runs through POST /ask itself, so it is logged and measured as any answer is.
 */
export function createRagBackend(deps: ApiDeps, asker: Asker, signal?: AbortSignal): RagBackend {
  // Read at each call: the stdio process learns its key's principal after it starts serving.
  const scope = () => asker.principal.collections;
  // Each call follows a re-index switch once and reads that one served index throughout.
  const started = async (): Promise<{ core: CoreDeps; served: ServedIndex }> => {
    const core = deps.core;
    if (!core) {
      throw new ApiError("index_not_ready", "The service is still starting; retry when /readyz says ready.");
    }
    return { core, served: await core.runtime.refresh() };
  };
  // Searching needs the query embedded as the index was; the status reports a mismatch instead.
  const ready = async (): Promise<{ core: CoreDeps; served: ServedIndex }> => {
    const at = await started();
    const { mismatch } = at.served;
    if (mismatch) {
      throw new ApiError(
        "embedding_model_mismatch",
        `The index was built with ${embedderKey(mismatch.indexed)} but this process embeds with ` +
          `${embedderKey(mismatch.current)}; set EMBEDDING_MODEL back or rebuild the index ` +
          "(README: The pinned embedding model).",
      );
    }
    return at;
  };
  const known = async (core: CoreDeps, collection: string | undefined) => {
    if (collection !== undefined) {
      await requireKnownCollection(core, scope(), collection);
    }
  };

  return {
    async listCollections() {
      return listCollections((await ready()).core.database.db, scope());
    },

    async search({ query, collection, topK }) {
      const { core, served } = await ready();
      await known(core, collection);
      const fusion = fusionFor(served.generation, served.embedder.identity.provider, deps.config.DENSE_WEIGHT);
      return searchPassages(
        {
          store: scopedStore(core.store, scope()),
          embedder: served.embedder,
          reranker: deps.reranker,
          generationId: served.generation.id,
          denseWeight: fusion.denseWeight,
          documentWeight: fusion.documentWeight,
          candidates: fusion.candidates,
        },
        query,
        { topK, collections: collection ? [collection] : undefined },
      );
    },

    async ask({ question, collection, history }) {
      // Checked here too, so an unknown collection is refused with the valid ones rather than answered from nothing.
      await known((await ready()).core, collection);
      return askThroughRoute(deps, asker, { question, collection, history }, signal);
    },

    async getDocument(id, maxChars) {
      const { core, served } = await ready();
      // Another tenant's id reads as unknown, as on GET /documents/:id.
      const doc = z.uuid().safeParse(id).success
        ? await createDocumentQueries(core.database.db, scope()).get(id)
        : undefined;
      if (!doc) {
        throw new ApiError("not_found", `No document with id ${JSON.stringify(id.slice(0, 80))}.`);
      }
      return { ...doc, ...(await documentText(core.database.db, id, served.generation.id, maxChars)) };
    },

    async indexStatus() {
      const { core, served } = await started();
      return statusReport(core.database.db, { mismatch: served.mismatch, queue: deps.queue, collections: scope() });
    },
  };
}
