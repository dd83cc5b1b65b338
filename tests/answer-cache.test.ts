import { unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createExtractiveGenerator } from "../pipelines/generate/extractive.js";
import { queryRows } from "../pipelines/store/database.js";
import { type AskResponse, AskResponseSchema } from "../schemas/api.js";
import { createApp } from "../services/api/app.js";
import type { ApiConfig, ApiDeps } from "../services/api/context.js";
import { adminActions } from "../services/common/admin.js";
import { parseApiKeys } from "../services/common/api-keys.js";
import type { CoreDeps } from "../services/common/deps.js";
import { createMetrics } from "../services/common/metrics.js";
import { createInProcessQueue } from "../services/common/queue/in-process.js";
import { createSourceWatcher, type SourceWatcher } from "../services/watcher/watcher.js";
import { createWorker } from "../services/common/ingest-worker.js";
import { makeCore, quietLog } from "./support/core.js";
import { type AskBody, ask as askApi } from "./support/ask.js";
import { apiConfig, waitFor } from "./support/pipeline.js";
import { tempDir } from "./support/temp-dir.js";
import { createLexicalReranker } from "../pipelines/rerank/lexical.js";

// Two collections holding the same handbook text, and two keys that may read both: a cached answer
// must stay inside the collection set and the key that produced it.
const HANDBOOK = (days: string) =>
  `# Leave\n\nEmployees receive ${days} days of paid annual leave each year.\n\n# Remote work\n\nRemote work is allowed on Fridays with a manager's approval.\n`;
const KEYS = { a: "cache-key-a-0123456789abcdef", b: "cache-key-b-0123456789abcdef" };
const API_KEYS = parseApiKeys(`${KEYS.a}:ask,admin:*;${KEYS.b}:ask:*`);
const Q = "How many days of paid annual leave do employees receive?";

let core: CoreDeps;
let cleanup: () => Promise<void>;
let queue: ReturnType<typeof createInProcessQueue>;
const watchers: SourceWatcher[] = [];
const dirs: Record<string, string> = {};
let deps: ApiDeps;
let app: ReturnType<typeof createApp>;

const cacheConfig: Partial<ApiConfig> = { API_KEYS, ANSWER_CACHE: true, ANSWER_CACHE_MIN_SIMILARITY: 0.9 };

async function ask(
  question: string,
  opts: { key?: string; body?: Omit<AskBody, "question">; headers?: Record<string, string> } = {},
) {
  return askApi(app, { question, ...opts.body }, { key: opts.key ?? KEYS.a, headers: opts.headers ?? {} });
}
const cited = (body: AskResponse) => body.citations.map((c) => c.chunkId).sort();
const settle = async () => {
  for (const w of watchers) {
    await w.scan();
  }
  await queue.idle();
};

beforeAll(async () => {
  ({ core, cleanup } = await makeCore("pglite"));
  queue = createInProcessQueue({ backoffScale: 0.01 });
  const metrics = createMetrics({ queue: () => queue });
  createWorker({ core, queue, log: quietLog, maxFileBytes: 1_000_000, metrics }).start();
  for (const collection of ["alpha", "beta"]) {
    dirs[collection] = tempDir(`rag-cache-${collection}-`);
    writeFileSync(join(dirs[collection]!, "handbook.md"), HANDBOOK("25"));
    const w = createSourceWatcher({
      catalog: core.catalog,
      queue,
      log: quietLog,
      dirs: [dirs[collection]!],
      collection,
      maxFileBytes: 1_000_000,
      stabilityMs: 100,
    });
    await w.start();
    watchers.push(w);
  }
  await queue.idle();
  deps = {
    config: { ...apiConfig, ...cacheConfig },
    log: quietLog,
    generator: createExtractiveGenerator(),
    reranker: createLexicalReranker(),
    core,
    queue,
    metrics,
  };
  app = createApp(deps);
});
afterAll(async () => {
  for (const w of watchers) {
    await w.close();
  }
  await queue.close();
  await cleanup();
});

describe("the answer cache", () => {
  it("serves a repeated question from the cache, and every response says whether it did", async () => {
    const first = await ask(Q, { body: { collection: "alpha" } });
    expect(first.status).toBe(200);
    expect(AskResponseSchema.parse(first.body)).toBeTruthy();
    expect(first.body.cache).toEqual({ hit: false, similarity: null, ageMs: null });
    expect(first.body.abstained).toBe(false);
    // Re-cased, the question embeds differently (a fresh answer may cite other passages): not the exact path.
    expect((await ask(Q.toUpperCase(), { body: { collection: "alpha" } })).body.cache?.hit).toBe(false);
    const again = await ask(`  ${Q.replace(/ /g, "   ")}  `, { body: { collection: "alpha" } });
    expect(again.body.cache?.hit).toBe(true);
    expect(again.body.cache?.similarity).toBe(1);
    expect(again.body.cache?.ageMs).toBeGreaterThanOrEqual(0);
    expect(again.body.answer).toBe(first.body.answer);
    expect(cited(again.body)).toEqual(cited(first.body));
    expect(again.body.queryId).not.toBe(first.body.queryId);
    expect(again.body.usage.costUsd).toBe(0);
    // Both are in the query log, the hit marked as one.
    const rows = await queryRows<{ id: string; cache: any; prompt_version: string }>(
      core.database.db,
      sql`SELECT id, cache, prompt_version FROM query_log WHERE id IN (${first.body.queryId}::uuid, ${again.body.queryId}::uuid)`,
    );
    expect(rows.find((r) => r.id === again.body.queryId)?.cache.hit).toBe(true);
    expect(rows.every((r) => r.prompt_version === "none")).toBe(true);
  });

  it("Cache-Control: no-cache and cache: false answer fresh", async () => {
    await ask(Q, { body: { collection: "alpha" } });
    const header = await ask(Q, { body: { collection: "alpha" }, headers: { "cache-control": "no-cache" } });
    expect(header.body.cache).toMatchObject({ hit: false, bypass: "request" });
    const body = await ask(Q, { body: { collection: "alpha", cache: false } });
    expect(body.body.cache).toMatchObject({ hit: false, bypass: "request" });
  });

  it("never serves an answer across collections or keys", async () => {
    await ask(Q, { body: { collection: "alpha" } });
    expect((await ask(Q, { body: { collection: "alpha" } })).body.cache?.hit).toBe(true);
    const beta = await ask(Q, { body: { collection: "beta" } });
    expect(beta.body.cache?.hit).toBe(false);
    expect(beta.body.citations.every((c) => c.sourceId !== undefined)).toBe(true);
    const all = await ask(Q);
    expect(all.body.cache?.hit).toBe(false);
    const otherKey = await ask(Q, { key: KEYS.b, body: { collection: "alpha" } });
    expect(otherKey.body.cache?.hit).toBe(false);
    // ...and other answer options are another cache too.
    expect((await ask(Q, { body: { collection: "alpha", topK: 3 } })).body.cache?.hit).toBe(false);
  });

  it("does not match a question to its negation or to other numbers", async () => {
    await ask("Is remote work allowed on Fridays?", { body: { collection: "alpha" } });
    const negated = await ask("Is remote work not allowed on Fridays?", { body: { collection: "alpha" } });
    expect(negated.body.cache?.hit).toBe(false);
    await ask("Do employees receive 25 days of paid annual leave?", { body: { collection: "alpha" } });
    const other = await ask("Do employees receive 30 days of paid annual leave?", { body: { collection: "alpha" } });
    expect(other.body.cache?.hit).toBe(false);
  });

  it("drops an answer when its document is edited, and answers from the new text", async () => {
    const before = await ask(Q, { body: { collection: "beta" } });
    expect((await ask(Q, { body: { collection: "beta" } })).body.cache?.hit).toBe(true);
    expect(before.body.answer).toContain("25");
    writeFileSync(join(dirs.beta!, "handbook.md"), HANDBOOK("31"));
    await settle();
    const after = await ask(Q, { body: { collection: "beta" } });
    expect(after.body.cache?.hit).toBe(false);
    expect(after.body.answer).toContain("31");
    // The other collection's entry is untouched by an edit elsewhere.
    expect((await ask(Q, { body: { collection: "alpha" } })).body.cache?.hit).toBe(true);
  });

  it("drops answers when any document of the collection changes, whoever writes it", async () => {
    await ask(Q, { body: { collection: "alpha" } });
    expect((await ask(Q, { body: { collection: "alpha" } })).body.cache?.hit).toBe(true);
    // Another process (a worker, a CLI) writing through SQL: no call into this process's cache.
    await core.database.db.execute(sql`UPDATE documents SET updated_at = now() WHERE collection = 'alpha'`);
    expect((await ask(Q, { body: { collection: "alpha" } })).body.cache?.hit).toBe(false);
    // A new document in the collection could give a better answer: that drops it too.
    expect((await ask(Q, { body: { collection: "alpha" } })).body.cache?.hit).toBe(true);
    writeFileSync(join(dirs.alpha!, "extra.md"), "# Parking\n\nParking spaces are assigned by the facilities team.\n");
    await settle();
    expect((await ask(Q, { body: { collection: "alpha" } })).body.cache?.hit).toBe(false);
  });

  it("drops an answer when its document is deleted", async () => {
    await ask(Q, { body: { collection: "alpha" } });
    expect((await ask(Q, { body: { collection: "alpha" } })).body.cache?.hit).toBe(true);
    unlinkSync(join(dirs.alpha!, "handbook.md"));
    await settle();
    const after = await ask(Q, { body: { collection: "alpha" } });
    expect(after.body.cache?.hit).toBe(false);
    expect(after.body.citations.some((c) => c.path === "handbook.md")).toBe(false);
    writeFileSync(join(dirs.alpha!, "handbook.md"), HANDBOOK("25"));
    await settle();
  });

  it("drops answers when the index is rebuilt (a new generation)", async () => {
    await ask(Q, { body: { collection: "alpha" } });
    expect((await ask(Q, { body: { collection: "alpha" } })).body.cache?.hit).toBe(true);
    deps.admin = adminActions(
      core,
      {
        DATA_DIR: "",
        DATABASE_POOL_MAX: 1,
        EMBEDDING_MODEL: "use-lite",
        MAX_FILE_BYTES: 1_000_000,
        RETIRE_GRACE_MS: 0,
      },
      quietLog,
    );
    const res = await app.request("/admin/reindex", { method: "POST", headers: { authorization: `Bearer ${KEYS.a}` } });
    expect(res.status).toBe(202);
    const { generationId } = (await res.json()) as { generationId: number };
    await waitFor(async () => ((await core.catalog.activeGeneration())?.id === generationId ? true : null), 60_000);
    const after = await ask(Q, { body: { collection: "alpha" } });
    expect(after.body.generation).toBe(generationId);
    expect(after.body.cache?.hit).toBe(false);
  });

  it("at the default similarity (1) only the same question hits; a paraphrase is answered fresh", async () => {
    const exactOnly = createApp({
      ...deps,
      metrics: undefined,
      config: { ...apiConfig, API_KEYS, ANSWER_CACHE: true },
    });
    const call = async (question: string) =>
      (await askApi(exactOnly, { question, collection: "alpha" }, { key: KEYS.a })).body;
    await call("Is remote work allowed on Fridays?");
    expect((await call("Is remote work allowed on Fridays?")).cache?.hit).toBe(true);
    expect((await call("can you tell me is remote work allowed on Fridays?")).cache?.hit).toBe(false);
  });

  it("is off when ANSWER_CACHE is unset", async () => {
    const off = createApp({ ...deps, metrics: undefined, config: { ...apiConfig, API_KEYS } });
    const call = () => askApi(off, { question: Q }, { key: KEYS.a });
    await call();
    const { body } = await call();
    expect(body.cache).toEqual({ hit: false, similarity: null, ageMs: null, bypass: "disabled" });
  });
});
