import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { promisify } from "node:util";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { QueryMetrics } from "../schemas/api.js";
import { openDatabase, type Drizzle } from "../pipelines/store/database.js";
import { createQualityQueries, type QualityReport } from "../pipelines/store/quality-queries.js";
import { createApp } from "../services/api/app.js";
import { renderQuality } from "../services/cli/quality-table.js";
import { createExtractiveGenerator } from "../pipelines/generate/extractive.js";
import type { CoreDeps } from "../services/common/deps.js";
import { makeCore, quietLog, type DbMode } from "./support/core.js";
import { apiConfig } from "./support/pipeline.js";
import { ROOT } from "./support/process.js";
import { tempDir } from "./support/temp-dir.js";

type Row = {
  at: string;
  abstained: boolean;
  collection: string | null;
  metrics: Partial<QueryMetrics> | null;
  totalMs: number;
  tokens: [context: number, answer: number];
  feedback?: Array<[rating: 1 | -1, comment: string | null]>;
};

const m = (
  f: number | null,
  r: number | null,
  p: number | null,
  u: number | null,
  rec: number | null,
  c: number | null,
) => ({
  method: "embedding+lexical",
  faithfulness: f,
  answerRelevancy: r,
  contextPrecision: p,
  contextUtilisation: u,
  contextRecall: rec,
  answerCorrectness: c,
});

// Four queries on 1 January 2026 and one the day after, with known metrics, latencies, tokens and feedback.
const ROWS: Row[] = [
  {
    at: "2026-01-01T01:00:00Z",
    abstained: false,
    collection: "a",
    metrics: m(1, 0.8, 1, 1, null, null),
    totalMs: 100,
    tokens: [300, 30],
    feedback: [
      [1, "great"],
      [1, null],
    ],
  },
  {
    at: "2026-01-01T02:00:00Z",
    abstained: false,
    collection: "a",
    metrics: m(0.5, 0.6, 0.5, 0.5, 1, 0.75),
    totalMs: 200,
    tokens: [500, 50],
  },
  {
    at: "2026-01-01T03:00:00Z",
    abstained: true,
    collection: "b",
    metrics: m(null, null, 0, null, 0, 0),
    totalMs: 300,
    tokens: [100, 10],
    feedback: [[-1, "wrong"]],
  },
  // Logged before metrics existed: counts as a query, adds no metric.
  { at: "2026-01-01T04:00:00Z", abstained: false, collection: null, metrics: null, totalMs: 400, tokens: [100, 10] },
  {
    at: "2026-01-02T05:00:00Z",
    abstained: false,
    collection: "a",
    metrics: m(0, 0, 0, 0, 0, 0),
    totalMs: 10_000,
    tokens: [900, 90],
    feedback: [[-1, null]],
  },
];

async function insert(db: Drizzle, rows: Row[]) {
  for (const r of rows) {
    const id = randomUUID();
    // `collections`: what the answer could draw from, as /ask logs it for a named collection (null: all).
    const collections = r.collection ? sql`ARRAY[${r.collection}]::text[]` : sql`NULL`;
    await db.execute(sql`INSERT INTO query_log (id, created_at, question, collection, collections, answer, abstained, citations, metrics, usage, timings)
      VALUES (${id}, ${r.at}::timestamptz, 'q', ${r.collection}, ${collections}, 'a', ${r.abstained}, '[]'::jsonb,
              ${r.metrics ? JSON.stringify(r.metrics) : null}::jsonb,
              ${JSON.stringify({ contextTokens: r.tokens[0], answerTokens: r.tokens[1] })}::jsonb,
              ${JSON.stringify({ totalMs: r.totalMs })}::jsonb)`);
    for (const [rating, comment] of r.feedback ?? []) {
      await db.execute(sql`INSERT INTO feedback (query_id, rating, comment) VALUES (${id}, ${rating}, ${comment})`);
    }
  }
}

const DAY = { since: new Date("2026-01-01T00:00:00Z"), until: new Date("2026-01-02T00:00:00Z") };

describe.each<DbMode>(["pglite", "pg-socket"])("quality aggregates (%s)", (mode) => {
  let core: CoreDeps;
  let cleanup: () => Promise<void>;
  let app: ReturnType<typeof createApp>;
  const get = async (query: string) => {
    const res = await app.request(`/quality${query}`);
    return { status: res.status, body: (await res.json()) as any };
  };

  beforeAll(async () => {
    ({ core, cleanup } = await makeCore(mode));
    await insert(core.database.db, ROWS);
    app = createApp({ config: apiConfig, log: quietLog, generator: createExtractiveGenerator(), core });
  });
  afterAll(() => cleanup());

  it("means with their counts, abstention rate, latency percentiles, tokens and feedback of one day", async () => {
    const r = await createQualityQueries(core.database.db).summary(DAY);
    expect(r).toEqual<QualityReport>({
      window: { since: "2026-01-01T00:00:00.000Z", until: "2026-01-02T00:00:00.000Z" },
      collection: null,
      queries: 4,
      answered: 3,
      abstained: 1,
      abstentionRate: 0.25,
      metrics: {
        faithfulness: { mean: 0.75, count: 2 },
        answerRelevancy: { mean: 0.7, count: 2 },
        contextPrecision: { mean: 0.5, count: 3 },
        contextUtilisation: { mean: 0.75, count: 2 },
        contextRecall: { mean: 0.5, count: 2 },
        answerCorrectness: { mean: 0.375, count: 2 },
      },
      // Linear interpolation over 100, 200, 300, 400 ms: rank 0.5·3, 0.95·3, 0.99·3.
      latencyMs: { p50: 250, p95: 385, p99: 397 },
      tokensPerQuery: { context: 250, answer: 25 },
      feedback: { up: 2, down: 1, withComment: 2 },
      // Rows logged without usage.costUsd cost 0; tokens are the context and the answer (nothing reported by a model API).
      cost: {
        totalUsd: 0,
        inputTokens: 1000,
        outputTokens: 100,
        cacheHits: 0,
        rows: [
          {
            day: "2026-01-01",
            collection: "*",
            keyId: null,
            queries: 1,
            inputTokens: 100,
            outputTokens: 10,
            costUsd: 0,
          },
          {
            day: "2026-01-01",
            collection: "a",
            keyId: null,
            queries: 2,
            inputTokens: 800,
            outputTokens: 80,
            costUsd: 0,
          },
          {
            day: "2026-01-01",
            collection: "b",
            keyId: null,
            queries: 1,
            inputTokens: 100,
            outputTokens: 10,
            costUsd: 0,
          },
        ],
      },
    });
  });

  it("filters by collection, or by a set of collections", async () => {
    const q = createQualityQueries(core.database.db);
    const a = await q.summary({ ...DAY, collection: "a" });
    expect(a).toMatchObject({
      collection: "a",
      queries: 2,
      answered: 2,
      abstentionRate: 0,
      latencyMs: { p50: 150 },
      feedback: { up: 2, down: 0, withComment: 1 },
    });
    expect(a.metrics.faithfulness).toEqual({ mean: 0.75, count: 2 });
    const b = await q.summary({ ...DAY, collections: ["b", "c"] });
    expect(b).toMatchObject({
      queries: 1,
      abstained: 1,
      abstentionRate: 1,
      feedback: { up: 0, down: 1, withComment: 1 },
    });
    const none = await q.summary({ ...DAY, collections: [] });
    expect(none).toMatchObject({
      queries: 0,
      abstentionRate: null,
      latencyMs: { p50: null, p95: null, p99: null },
      tokensPerQuery: { context: null, answer: null },
    });
    expect(none.metrics.contextRecall).toEqual({ mean: null, count: 0 });
  });

  it("GET /quality takes ISO times and durations back from now", async () => {
    const day = await get("?since=2026-01-01&until=2026-01-01T23:59:59Z");
    expect(day.status).toBe(200);
    expect(day.body).toMatchObject({ queries: 4, abstentionRate: 0.25, latencyMs: { p95: 385 } });
    const both = await get("?since=2026-01-01T00:00:00Z&until=2026-01-03T00:00:00Z&collection=a");
    expect(both.body).toMatchObject({ queries: 3, collection: "a", feedback: { up: 2, down: 1 } });
    // The default window is the last 24 hours: none of these rows, then one logged now.
    expect((await get("")).body.queries).toBe(0);
    await insert(core.database.db, [
      {
        at: new Date(Date.now() - 30 * 60_000).toISOString(),
        abstained: false,
        collection: "x",
        metrics: m(1, 1, 1, 1, null, null),
        totalMs: 50,
        tokens: [10, 1],
      },
    ]);
    const hour = await get("?since=1h&collection=x");
    expect(hour.body).toMatchObject({ queries: 1, metrics: { faithfulness: { mean: 1, count: 1 } } });
    expect((await get("?since=10m&collection=x")).body.queries).toBe(0);
  });

  it.each([
    ["?since=yesterday", /since must be an ISO 8601 time/],
    ["?until=24x", /until must be/],
    ["?since=2026-01-02&until=2026-01-01", /since must be before until/],
    ["?collection=", /collection/],
    ["?window=7d", /window/],
  ])("GET /quality%s → 400 invalid_request", async (query, message) => {
    const r = await get(query);
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe("invalid_request");
    expect(r.body.error.message).toMatch(message);
    expect(r.body.error.requestId).toMatch(/\S/);
  });
});

describe("npm run quality", () => {
  const run = promisify(execFile);
  const cli = (args: string[], env: Record<string, string>) =>
    run(process.execPath, ["--import", "tsx", "services/cli/quality.ts", ...args], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: "", STATUS_URL: "", LOG_LEVEL: "silent", ...env },
      timeout: 30_000,
    });
  let dataDir: string;
  beforeAll(async () => {
    dataDir = tempDir("rag-quality-cli-");
    const database = await openDatabase({ dataDir: `${dataDir}/pglite` });
    await database.migrate();
    await insert(database.db, ROWS);
    await database.close();
  });

  it("--help prints the usage", async () => {
    const { stdout } = await cli(["--help"], { DATA_DIR: dataDir });
    expect(stdout).toMatch(/--since/);
    expect(stdout).toMatch(/GET \/quality/);
  });

  it("reads a stopped service's database: --json and the table", async () => {
    const window = ["--since", "2026-01-01T00:00:00Z", "--until", "2026-01-02T00:00:00Z"];
    const report = JSON.parse((await cli([...window, "--json"], { DATA_DIR: dataDir })).stdout) as QualityReport;
    expect(report).toMatchObject({
      queries: 4,
      abstentionRate: 0.25,
      latencyMs: { p50: 250 },
      feedback: { up: 2, down: 1, withComment: 2 },
    });
    const table = (await cli([...window, "--collection", "a"], { DATA_DIR: dataDir })).stdout;
    expect(table).toBe(
      renderQuality({
        ...report,
        ...JSON.parse((await cli([...window, "--collection", "a", "--json"], { DATA_DIR: dataDir })).stdout),
      }),
    );
    expect(table).toMatch(/queries: 2, answered 2, abstained 0 \(0\.0%\)/);
    expect(table).toMatch(/faithfulness\s+0\.750\s+2/);
  });

  it("a bad --since is a clear error", async () => {
    const err = await cli(["--since", "last week"], { DATA_DIR: dataDir }).catch(
      (e: { stderr: string; code: number }) => e,
    );
    expect((err as { code: number }).code).not.toBe(0);
    expect((err as { stderr: string }).stderr).toMatch(/since must be an ISO 8601 time/);
  });
});
