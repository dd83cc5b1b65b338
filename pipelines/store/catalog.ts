import { createHash } from "node:crypto";
import { and, desc, eq, inArray, sql } from "drizzle-orm";
import { documents, feedback, indexGenerations, queryLog, sources, type GenerationFusion } from "../../schemas/db.js";
import type { ChunkerSettings } from "../chunk/types.js";
import { maskDeep, maskText } from "../guard/pii.js";
import { embedderKey, type EmbedderIdentity } from "../embed/types.js";
import { PipelineError } from "../errors.js";
import { queryRows, type Drizzle } from "./database.js";

export type DocumentRow = typeof documents.$inferSelect;
export type GenerationRow = typeof indexGenerations.$inferSelect;

/** Stable id for a watched root, so the same folder keeps its documents across restarts. */
export function sourceIdFor(root: string): string {
  return `src_${createHash("sha256").update(root).digest("hex").slice(0, 12)}`;
}

/**
 * The service's bookkeeping (sources, documents, generations, query log) over drizzle. Chunks and
 * vectors are the VectorStore's; this is what says which of them are current.
 */
export function createCatalog(db: Drizzle) {
  return {
    async upsertSource(root: string, collection: string): Promise<string> {
      const id = sourceIdFor(root);
      await db
        .insert(sources)
        .values({ id, root, collection })
        .onConflictDoUpdate({ target: sources.id, set: { collection } });
      return id;
    },

    async getSource(id: string) {
      return (await db.select().from(sources).where(eq(sources.id, id)))[0];
    },

    async touchSource(id: string, what: "scan" | "event"): Promise<void> {
      await db
        .update(sources)
        .set(what === "scan" ? { lastScanAt: new Date() } : { lastEventAt: new Date() })
        .where(eq(sources.id, id));
    },

    async getDocument(sourceId: string, path: string): Promise<DocumentRow | undefined> {
      return (
        await db
          .select()
          .from(documents)
          .where(and(eq(documents.sourceId, sourceId), eq(documents.path, path)))
      )[0];
    },

    /** Returns the document's id, creating a pending row on first sight. */
    async ensureDocument(sourceId: string, path: string, collection: string): Promise<DocumentRow> {
      await db
        .insert(documents)
        .values({ sourceId, path, collection, status: "pending" })
        .onConflictDoNothing({ target: [documents.sourceId, documents.path] });
      const row = await this.getDocument(sourceId, path);
      if (!row) {
        throw new Error(`document ${sourceId}:${path} vanished after insert`);
      }
      return row;
    },

    async markIndexed(
      id: string,
      info: {
        contentHash: string;
        format: string;
        title: string | null;
        sizeBytes: number;
        chunkCount: number;
        pageCount: number | null;
      },
    ): Promise<void> {
      await db
        .update(documents)
        .set({ ...info, status: "indexed", errorCode: null, error: null, indexedAt: new Date(), updatedAt: new Date() })
        .where(eq(documents.id, id));
    },

    /** Records a failure; the previously indexed chunks (if any) stay searchable. */
    async markFailed(id: string, code: string, message: string): Promise<void> {
      await db
        .update(documents)
        .set({ status: "failed", errorCode: code, error: message, updatedAt: new Date() })
        .where(eq(documents.id, id));
    },

    async deleteDocument(id: string): Promise<void> {
      await db.delete(documents).where(eq(documents.id, id));
    },

    async allDocuments(): Promise<DocumentRow[]> {
      return db.select().from(documents).orderBy(documents.sourceId, documents.path);
    },

    async listDocuments(sourceId: string): Promise<DocumentRow[]> {
      return db.select().from(documents).where(eq(documents.sourceId, sourceId));
    },

    async activeGeneration(): Promise<GenerationRow | undefined> {
      return (await db.select().from(indexGenerations).where(eq(indexGenerations.status, "active")))[0];
    },

    /** The active generation and the one being built, if any, in one query. */
    async liveGenerations(): Promise<{ active?: GenerationRow; building?: GenerationRow }> {
      const rows = await db
        .select()
        .from(indexGenerations)
        .where(inArray(indexGenerations.status, ["active", "building"]));
      return { active: rows.find((r) => r.status === "active"), building: rows.find((r) => r.status === "building") };
    },

    async listGenerations(): Promise<GenerationRow[]> {
      return db.select().from(indexGenerations).orderBy(desc(indexGenerations.id));
    },

    /** Creates the first generation, or returns the active one whatever embedder it names. */
    async ensureActiveGeneration(
      identity: EmbedderIdentity,
      chunker: ChunkerSettings,
      embedderSpec: unknown = null,
    ): Promise<GenerationRow> {
      const existing = await this.activeGeneration();
      if (existing) {
        return existing;
      }
      const inserted = await db
        .insert(indexGenerations)
        .values({
          embedderKey: embedderKey(identity),
          embedder: identity,
          embedderSpec,
          chunker,
          status: "active",
          activatedAt: new Date(),
        })
        .onConflictDoNothing()
        .returning();
      // Another process may have created it between our read and insert; the unique partial
      // index on status='active' makes that safe, and the re-read returns the winner.
      return inserted[0] ?? (await this.activeGeneration())!;
    },

    /** Starts a build; the unique index on status='building' refuses a second concurrent one. */
    async startBuild(
      identity: EmbedderIdentity,
      chunker: ChunkerSettings,
      embedderSpec: unknown,
    ): Promise<GenerationRow> {
      const rows = await db
        .insert(indexGenerations)
        .values({ embedderKey: embedderKey(identity), embedder: identity, embedderSpec, chunker, status: "building" })
        .onConflictDoNothing()
        .returning();
      if (!rows[0]) {
        const { building } = await this.liveGenerations();
        throw new PipelineError(
          "build_running",
          `a re-index is already running (generation ${building?.id ?? "?"}); wait for it to finish.`,
          {
            context: { building: building?.id ?? null },
          },
        );
      }
      return rows[0];
    },

    async buildProgress(id: number, p: { total?: number; done?: number; failed?: number }): Promise<void> {
      await db
        .update(indexGenerations)
        .set({
          ...(p.total !== undefined && { docsTotal: p.total }),
          ...(p.done !== undefined && { docsDone: p.done }),
          ...(p.failed !== undefined && { docsFailed: p.failed }),
        })
        .where(eq(indexGenerations.id, id));
    },

    async failBuild(id: number, error: string): Promise<void> {
      await db
        .update(indexGenerations)
        .set({ status: "failed", error, finishedAt: new Date() })
        .where(and(eq(indexGenerations.id, id), eq(indexGenerations.status, "building")));
    },

    /** The switch: the old active generation retires and the built one activates in one transaction. */
    async activate(id: number): Promise<GenerationRow | undefined> {
      return db.transaction(async (tx) => {
        const [old] = await tx
          .update(indexGenerations)
          .set({ status: "retired", retiredAt: new Date() })
          .where(eq(indexGenerations.status, "active"))
          .returning();
        const [now] = await tx
          .update(indexGenerations)
          .set({ status: "active", activatedAt: new Date(), finishedAt: new Date() })
          .where(and(eq(indexGenerations.id, id), eq(indexGenerations.status, "building")))
          .returning();
        if (!now) {
          throw new Error(`generation ${id} is not building; nothing was switched.`);
        }
        return old;
      });
    },

    /** Stores the fusion weights fitted for a generation (`npm run eval -- --fit`); queries read them from the row. */
    async setGenerationFusion(id: number, fusion: GenerationFusion): Promise<void> {
      const rows = await db
        .update(indexGenerations)
        .set({ fusion })
        .where(eq(indexGenerations.id, id))
        .returning({ id: indexGenerations.id });
      if (!rows[0]) {
        throw new Error(`index generation ${id} does not exist`);
      }
    },

    /**
     * Logs an answered query. Personal data is always masked here, whatever the caller passed:
     * the question, the answer, citation snippets and verified sentences (see pipelines/guard/pii.ts).
     */
    async logQuery(entry: typeof queryLog.$inferInsert): Promise<void> {
      await db.insert(queryLog).values(maskQueryLogEntry(entry));
    },

    /**
     * Stores a rating of a logged answer; null when no query has that id, or when `scope` (the
     * rater's collections, null for all) does not cover every collection the answer could draw
     * from: another tenant's queryId is answered as unknown, so ids do not leak.
     */
    async recordFeedback(
      entry: { queryId: string; rating: number; comment: string | null },
      scope: readonly string[] | null = null,
    ): Promise<{ id: number } | null> {
      const known = await db
        .select({ id: queryLog.id, collections: queryLog.collections })
        .from(queryLog)
        .where(eq(queryLog.id, entry.queryId));
      if (!known[0]) {
        return null;
      }
      const drawnFrom = known[0].collections;
      if (scope !== null && (drawnFrom === null || !drawnFrom.every((c) => scope.includes(c)))) {
        return null;
      }
      const [row] = await db.insert(feedback).values(entry).returning({ id: feedback.id });
      return row ?? null;
    },

    async countDocuments(): Promise<Record<string, number>> {
      const rows = await queryRows<{ status: string; n: number }>(
        db,
        sql`SELECT status, count(*)::int AS n FROM documents GROUP BY status`,
      );
      return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
    },
  };
}

export type Catalog = ReturnType<typeof createCatalog>;

// Ids, paths and numbers are not user text; masking them could only corrupt them.
const LOG_ID_FIELDS = new Set(["documentId", "sourceId", "chunkId", "path", "headingPath", "n", "page"]);

/** The query-log row with personal data masked in every free-text field. */
export function maskQueryLogEntry<E extends typeof queryLog.$inferInsert>(entry: E): E {
  return {
    ...entry,
    question: maskText(entry.question),
    ...(entry.rewrittenQuestion ? { rewrittenQuestion: maskText(entry.rewrittenQuestion) } : {}),
    answer: maskText(entry.answer),
    citations: maskDeep(entry.citations, LOG_ID_FIELDS),
    ...(entry.verification !== undefined ? { verification: maskDeep(entry.verification, LOG_ID_FIELDS) } : {}),
  };
}
