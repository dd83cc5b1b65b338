import { randomUUID } from "node:crypto";
import { answerQuestion, type AnswerDeps, type AnswerEvents, type AnswerInput } from "../answer/ask.js";
import { guardedEvents, screenedReranker } from "../answer/guarded.js";
import { createAnswerGuard } from "../guard/answer-guard.js";
import { embedderKey } from "../embed/types.js";
import { retrieve } from "../retrieve/hybrid.js";
import { ASK_LIMITS, type AskResponse, type RetrievedSource } from "../../schemas/api.js";
import { guardMismatch, questionFeatures } from "./guard.js";
import { cacheKey, normalizeQuestion, type CacheKeyParts } from "./key.js";
import { epochsCurrent, type AnswerCacheStore, type CacheEntry } from "./store.js";

/** What every /ask response says about the cache. */
export interface CacheInfo {
  hit: boolean;
  /** Similarity of the question to the cached one (1: the same question); null on a miss. */
  similarity: number | null;
  /** Age of the served answer; null on a miss. */
  ageMs: number | null;
  /** Why the cache was not consulted: disabled, request, reference, ... */
  bypass?: string;
}

export interface AnswerCacheOptions {
  store: AnswerCacheStore;
  /** Cosine similarity a paraphrase must reach before the guard and the retrieval check run; 1: exact questions only. */
  minSimilarity: number;
  ttlMs: number;
  maxEntries: number;
  /** Hears what happened, for counters and logs. */
  onOutcome?: ((outcome: "hit" | "miss" | "bypass" | "stale" | "rejected", detail?: string) => void) | undefined;
  /** Hears a failed cache read or write; the answer is computed (or returned) all the same. */
  onError?: ((err: unknown) => void) | undefined;
  now?: () => number;
}

export interface CachedAnswerRequest {
  deps: AnswerDeps;
  input: AnswerInput;
  events?: AnswerEvents;
  /** What else distinguishes answers (tenant, generator, prompt, options); null bypasses the cache. */
  key: Omit<CacheKeyParts, "generationId" | "embedder"> | null;
  /** Set with `key: null`: why the cache was bypassed (reported in `cache.bypass`). */
  bypass?: string;
  /**
   * Applied to a fresh answer before it is returned and stored (the route's conversation report);
   * the answer guard is the answer path's own (`deps.guard`).
   */
  finish?: (r: AskResponse) => AskResponse;
  /** A question the injection screen flagged is answered fresh and never stored. */
  storable?: (r: AskResponse) => boolean;
}

type Stored = { response: AskResponse; sources: RetrievedSource[] };

// Re-ranking looks at more candidates than it keeps (as pipelines/answer/ask.ts does).
const RERANK_POOL_FACTOR = 3;
// Thrown inside the lookup to go straight to a fresh answer (the entry is still stored).
const MISS = Symbol("miss");
const NEAREST = 5;
const PRUNE_EVERY = 50;

/**
 * The semantic answer cache, around answerQuestion (not inside it). A stored answer is served when
 *  1. the key matches: same tenant, collection set, index generation, embedder, generator model,
 *     prompt version and answer options;
 *  2. the question is the same (spacing aside), or its embedding is at
 *     least `minSimilarity` from the stored one AND the lexical guard finds no difference in
 *     numbers, negation, names, question words or content words AND retrieval for the new
 *     question ranks exactly the sources the stored answer was generated from, in the same order;
 *  3. no document or chunk of its collections has been written since the answer started
 *     (collection_epochs, bumped by triggers in the writer's own transaction, migration 0014).
 * Rule 3 is checked on every read against the database, so no process can serve an answer older
 * than the index it reads, whoever changed the index.
 */
export function createAnswerCache(opts: AnswerCacheOptions) {
  const now = opts.now ?? (() => Date.now());
  let inserts = 0;

  async function fresh(
    req: CachedAnswerRequest,
    info: CacheInfo,
    snapshot?: { keyHash: string; epochs: Record<string, number>; embedding?: number[] | undefined },
  ) {
    let sources: RetrievedSource[] = [];
    const events: AnswerEvents = {
      ...req.events,
      onSources: (s) => {
        sources = s;
        req.events?.onSources?.(s);
      },
    };
    // The question's embedding, computed for the lookup, is reused by retrieval; without a
    // semantic lookup, retrieval's own embedding of the question is kept for the entry.
    let embedding = snapshot?.embedding;
    const embedder = snapshot?.embedding
      ? seeded(req.deps.embedder, req.input.question, snapshot.embedding)
      : recording(req.deps.embedder, req.input.question, (v) => (embedding = v));
    const raw = await answerQuestion(snapshot ? { ...req.deps, embedder } : req.deps, req.input, events);
    const response = { ...(req.finish ? req.finish(raw) : raw), cache: info };
    if (snapshot && req.key && response.generator.fallbacks.length === 0 && (req.storable?.(response) ?? true)) {
      try {
        embedding ??= (await req.deps.embedder.embed([req.input.question]))[0]!;
        const { cache: _omit, metrics: _metrics, ...toStore } = response;
        await opts.store.insert({
          keyHash: snapshot.keyHash,
          collections: req.key.collections,
          question: req.input.question,
          questionNorm: normalizeQuestion(req.input.question),
          embedding,
          epochs: snapshot.epochs,
          sourceChunks: sources.map((s) => s.chunkId),
          response: { response: toStore, sources } as unknown as AskResponse,
          ttlMs: opts.ttlMs,
        });
        if (++inserts % PRUNE_EVERY === 1) {
          await opts.store.prune(opts.maxEntries);
        }
      } catch (err) {
        opts.onError?.(err);
      }
    }
    return response;
  }

  /**
   * Retrieval and re-ranking for the new question give the stored answer's sources, in the same
   * order (the extractive generator leans on rank, so a set match still let bench/cache.ts find a
   * paraphrase whose fresh answer cited another passage).
   */
  async function sameSources(req: CachedAnswerRequest, entry: CacheEntry, embedding: number[]): Promise<boolean> {
    const d = req.deps;
    const pool =
      d.reranker.name === "none" ? req.input.topK : Math.min(ASK_LIMITS.maxTopK, req.input.topK * RERANK_POOL_FACTOR);
    const hits = await retrieve(
      { store: d.store, embedder: seeded(d.embedder, req.input.question, embedding) },
      req.input.question,
      {
        generationId: d.generationId,
        topK: pool,
        collections: req.input.collections,
        denseWeight: d.denseWeight,
        documentWeight: d.documentWeight,
        candidates: d.candidates,
      },
    );
    // Behind the injection screen, as the answer path re-ranks: an excluded chunk is no source.
    const reranker = screenedReranker(d, req.input.question);
    const ranked = (await reranker.rerank(req.input.question, hits)).slice(0, req.input.topK);
    const want = entry.sourceChunks;
    const got = ranked.slice(0, want.length).map((h) => h.chunkId);
    return want.length > 0 && want.length === got.length && want.every((id, i) => got[i] === id);
  }

  function serve(req: CachedAnswerRequest, entry: CacheEntry, started: number): AskResponse {
    const { response, sources } = entry.response as unknown as Stored;
    // The stored answer streams through the guard's delta filter, as a fresh one does.
    const guard = req.deps.guard && createAnswerGuard(req.input.question, req.deps.guard);
    const stream = guard ? guardedEvents(guard, req.events ?? {}) : { events: req.events, flush() {} };
    stream.events?.onSources?.(sources);
    stream.events?.onDelta?.(response.answer);
    stream.flush();
    void opts.store.touch(entry.id).catch((err: unknown) => opts.onError?.(err));
    const totalMs = Math.round((now() - started) * 10) / 10;
    return {
      ...response,
      queryId: randomUUID(),
      // No model ran: nothing was spent on this answer.
      usage: { ...response.usage, costUsd: 0 },
      timings: { retrievalMs: 0, rerankMs: 0, generationMs: 0, verificationMs: 0, totalMs },
      cache: {
        hit: true,
        similarity: Math.round(entry.similarity * 10_000) / 10_000,
        ageMs: Math.max(0, now() - entry.createdAt.getTime()),
      },
    };
  }

  return {
    async answer(req: CachedAnswerRequest): Promise<AskResponse> {
      const started = now();
      if (!req.key) {
        opts.onOutcome?.("bypass", req.bypass);
        return fresh(req, { hit: false, similarity: null, ageMs: null, bypass: req.bypass ?? "request" });
      }
      const miss: CacheInfo = { hit: false, similarity: null, ageMs: null };
      let snapshot: { keyHash: string; epochs: Record<string, number>; embedding?: number[] | undefined } | undefined;
      try {
        const keyHash = cacheKey({ ...req.key, generationId: req.deps.generationId, embedder: embedderName(req.deps) });
        // Read before anything is retrieved: a write after this point makes the answer below unservable.
        const epochs = await opts.store.epochs(req.key.collections);
        const questionNorm = normalizeQuestion(req.input.question);
        const exact = await opts.store.candidates({ keyHash, questionNorm, minSimilarity: 1, limit: 1 });
        for (const e of exact) {
          if (epochsCurrent(e.epochs, epochs)) {
            opts.onOutcome?.("hit", "exact");
            return serve(req, e, started);
          }
          opts.onOutcome?.("stale");
          await opts.store.remove(e.id);
        }
        snapshot = { keyHash, epochs };
        // Similarity 1 (the default) is the exact path alone: bench/cache.ts still found a
        // paraphrase whose fresh answer cited other passages, so matching by meaning is opt-in.
        if (opts.minSimilarity >= 1) {
          throw MISS;
        }
        const [embedding] = await req.deps.embedder.embed([req.input.question]);
        snapshot.embedding = embedding!;
        const near = await opts.store.candidates({
          keyHash,
          questionNorm,
          embedding,
          minSimilarity: opts.minSimilarity,
          limit: NEAREST,
        });
        const asked = questionFeatures(req.input.question);
        for (const e of near) {
          if (!epochsCurrent(e.epochs, epochs)) {
            opts.onOutcome?.("stale");
            await opts.store.remove(e.id);
            continue;
          }
          const why = guardMismatch(asked, questionFeatures(e.question));
          if (why) {
            opts.onOutcome?.("rejected", why);
            continue;
          }
          if (!(await sameSources(req, e, embedding!))) {
            opts.onOutcome?.("rejected", "retrieval differs");
            continue;
          }
          // Retrieval read the index after the epochs were: check them again before serving.
          if (!epochsCurrent(e.epochs, await opts.store.epochs(req.key.collections))) {
            break;
          }
          opts.onOutcome?.("hit", "semantic");
          return serve(req, e, started);
        }
      } catch (err) {
        if (err !== MISS) {
          // A cache that cannot be read must not fail the question: answer it fresh, store nothing.
          opts.onError?.(err);
          snapshot = undefined;
        }
      }
      opts.onOutcome?.("miss");
      return fresh(req, miss, snapshot);
    },
  };
}

export type AnswerCache = ReturnType<typeof createAnswerCache>;

const embedderName = (d: AnswerDeps) => embedderKey(d.embedder.identity);

/** The same embedder with another `embed` (identity, token counting and closing unchanged). */
function withEmbed(embedder: AnswerDeps["embedder"], embed: AnswerDeps["embedder"]["embed"]): AnswerDeps["embedder"] {
  return {
    identity: embedder.identity,
    maxInputTokens: embedder.maxInputTokens,
    countTokens: (t) => embedder.countTokens(t),
    close: () => embedder.close(),
    embed,
  };
}

/** The embedder, telling `seen` the vector it made for `text` (retrieval embeds the question first). */
function recording(
  embedder: AnswerDeps["embedder"],
  text: string,
  seen: (vector: number[]) => void,
): AnswerDeps["embedder"] {
  return withEmbed(embedder, async (texts, opts) => {
    const vectors = await embedder.embed(texts, opts);
    const i = texts.indexOf(text);
    if (i >= 0) {
      seen(vectors[i]!);
    }
    return vectors;
  });
}

/** The embedder, with one text's vector already known (the lookup embedded the question). */
function seeded(embedder: AnswerDeps["embedder"], text: string, vector: number[]): AnswerDeps["embedder"] {
  return withEmbed(embedder, async (texts, opts) => {
    const rest = texts.filter((t) => t !== text);
    const vectors = rest.length ? await embedder.embed(rest, opts) : [];
    let i = 0;
    return texts.map((t) => (t === text ? vector : vectors[i++]!));
  });
}
