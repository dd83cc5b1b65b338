import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLlmJudge } from "../pipelines/metrics/llm-judge.js";
import { queryRows } from "../pipelines/store/database.js";
import { AskResponseSchema } from "../schemas/api.js";
import type { CoreDeps } from "../services/common/deps.js";
import { parseSse } from "./support/answer-fixtures.js";
import { chatReply, startScriptedServer, type ScriptedServer } from "./support/openai-server.js";
import { indexedFolder, type startPipeline, type IndexedFolder } from "./support/pipeline.js";
import { quietLog } from "./support/core.js";
import { createMetricsQueue } from "../services/api/metrics-queue.js";

// End to end with the real USE-Lite embedder, PGlite and the extractive generator.
let core: CoreDeps;
let pipeline: Awaited<ReturnType<typeof startPipeline>>;
let folder: IndexedFolder;
let judgeServer: ScriptedServer;

const QUESTION = "At what temperature is green tea steeped?";

beforeAll(async () => {
  folder = await indexedFolder(
    {
      "tea.md":
        "# Tea\n\nGreen tea is steeped at about 80 degrees Celsius for two minutes.\n\nBlack tea needs boiling water.\n",
      "owls.md": "# Owls\n\nA barn owl hunts by sound in complete darkness.\n",
    },
    "rag-quality-ask-",
  );
  ({ core, pipeline } = folder);
  judgeServer = await startScriptedServer([]);
});
afterAll(async () => {
  await folder.close();
  await judgeServer.close();
});

const stored = async (queryId: string) =>
  (await queryRows<{ metrics: unknown }>(core.database.db, sql`SELECT metrics FROM query_log WHERE id = ${queryId}`))[0]
    ?.metrics;
const drained = () => pipeline.deps.metricsQueue!.drain();

describe("/ask quality metrics", () => {
  it("are computed after the answer: not in the response, in the query log and GET /queries/:id/metrics once done", async () => {
    const { status, body } = await pipeline.ask(QUESTION);
    expect(status).toBe(200);
    expect(AskResponseSchema.parse(body)).toBeTruthy();
    expect(body.abstained).toBe(false);
    expect(body.metrics).toBeUndefined();
    expect(body.timings.metricsMs).toBeUndefined();
    await drained();
    const res = await pipeline.app.request(`/queries/${body.queryId}/metrics`);
    expect(res.status).toBe(200);
    const read = (await res.json()) as any;
    expect(read).toMatchObject({ queryId: body.queryId, status: "done" });
    const metrics = read.metrics;
    expect(metrics).toMatchObject({
      method: "embedding+lexical",
      faithfulness: 1,
      contextRecall: null,
      answerCorrectness: null,
    });
    for (const name of ["answerRelevancy", "contextPrecision", "contextUtilisation"]) {
      expect(metrics[name]).toBeGreaterThan(0);
      expect(metrics[name]).toBeLessThanOrEqual(1);
    }
    expect(await stored(body.queryId)).toEqual(metrics);
  });

  it('`"metrics": true` computes them before answering, returns and stores the same', async () => {
    const { body } = await pipeline.ask(QUESTION, { metrics: true });
    expect(body.metrics).toMatchObject({ method: "embedding+lexical", faithfulness: 1 });
    expect(body.timings.metricsMs).toBeGreaterThanOrEqual(0);
    expect(await stored(body.queryId)).toEqual(body.metrics);
    const read = (await (await pipeline.app.request(`/queries/${body.queryId}/metrics`)).json()) as any;
    expect(read).toEqual({ queryId: body.queryId, status: "done", metrics: body.metrics });
  });

  it("with a reference answer: context recall and answer correctness", async () => {
    const reference = "Green tea is steeped at about 80 degrees Celsius.";
    const { body } = await pipeline.ask(QUESTION, { reference, metrics: true });
    expect(body.metrics.contextRecall).toBe(1);
    expect(body.metrics.answerCorrectness).toBeGreaterThan(0.5);
    expect(await stored(body.queryId)).toEqual(body.metrics);
  });

  it("an abstention has no faithfulness or relevancy (deferred too)", async () => {
    const { body } = await pipeline.ask("Who won the 1998 football world cup?", { reference: "France won it." });
    expect(body.abstained).toBe(true);
    await drained();
    expect(await stored(body.queryId)).toMatchObject({
      faithfulness: null,
      answerRelevancy: null,
      contextUtilisation: null,
      answerCorrectness: 0,
    });
  });

  it("the stream's done event carries them when asked for, and the log has them either way", async () => {
    const streamed = async (extra: Record<string, unknown>) => {
      const res = await pipeline.app.request("/ask", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ question: QUESTION, stream: true, ...extra }),
      });
      return parseSse(await res.text()).find((e) => e.event === "done")!.data;
    };
    const asked = await streamed({ metrics: true });
    expect(asked.metrics).toMatchObject({ method: "embedding+lexical", faithfulness: 1 });
    expect(await stored(asked.queryId)).toEqual(asked.metrics);
    const plain = await streamed({});
    expect(plain.metrics).toBeUndefined();
    await drained();
    expect(await stored(plain.queryId)).toMatchObject({ method: "embedding+lexical", faithfulness: 1 });
  });

  it("the metrics of every answered query land in the query log; Prometheus and GET /quality agree", async () => {
    const ids: string[] = [];
    // Concurrent, as clients are: the queue takes them all (it is far from full).
    const answers = await Promise.all(
      [QUESTION, "How does a barn owl hunt?", QUESTION, "What water does black tea need?"].map((q) => pipeline.ask(q)),
    );
    for (const a of answers) {
      ids.push(a.body.queryId);
    }
    await drained();
    const rows = await queryRows<{ id: string; metrics: any; metrics_status: string; abstained: boolean }>(
      core.database.db,
      sql`SELECT id, metrics, metrics_status, abstained FROM query_log`,
    );
    for (const id of ids) {
      expect(rows.find((r) => r.id === id)).toMatchObject({
        metrics_status: "done",
        metrics: { method: "embedding+lexical" },
      });
    }
    // No query of this file was skipped or left pending: every row has its metrics.
    expect(rows.filter((r) => r.metrics === null)).toEqual([]);
    const text = await (await pipeline.app.request("/metrics")).text();
    const observed = Number(/rag_answer_quality_count\{metric="faithfulness"\} (\d+)/.exec(text)?.[1]);
    const body = (await (await pipeline.app.request("/quality?since=1h")).json()) as any;
    expect(body.queries).toBe(rows.length);
    const faithful = rows.filter((r) => typeof r.metrics.faithfulness === "number");
    expect(body.metrics.faithfulness).toEqual({ mean: 1, count: faithful.length });
    expect(observed).toBe(faithful.length);
    expect(body.metrics.contextRecall.count).toBe(2);
  });

  it("a full queue skips (samples) the metrics instead of slowing answers, and says so", async () => {
    const queue = pipeline.deps.metricsQueue!;
    pipeline.deps.metricsQueue = createMetricsQueue({ record: async () => {} }, { maxQueued: 0, log: quietLog });
    try {
      const { status, body } = await pipeline.ask(QUESTION);
      expect(status).toBe(200);
      const read = (await (await pipeline.app.request(`/queries/${body.queryId}/metrics`)).json()) as any;
      expect(read).toEqual({ queryId: body.queryId, status: "skipped", metrics: null });
    } finally {
      pipeline.deps.metricsQueue = queue;
    }
  });

  it("a measurement that fails is stored as skipped and does not stop the queue", async () => {
    const records: Array<[string, unknown]> = [];
    const q = createMetricsQueue(
      { record: async (id, m) => void records.push([id, m]) },
      { maxQueued: 4, log: quietLog },
    );
    expect(q.offer("a", () => Promise.reject(new Error("embedder down")))).toBe(true);
    expect(q.offer("b", async () => ({ method: "lexical" }) as any)).toBe(true);
    await q.drain();
    expect(records).toEqual([
      ["a", null],
      ["b", { method: "lexical" }],
    ]);
    expect(q.stats()).toMatchObject({ done: 1, failed: 1, queued: 0, running: 0 });
  });

  it.each([
    ["not a uuid", "/queries/nope/metrics", 400, "invalid_request"],
    ["an unknown id", "/queries/00000000-0000-4000-8000-000000000000/metrics", 404, "not_found"],
  ])("GET /queries/:id/metrics with %s → %i", async (_name, path, status, code) => {
    const res = await pipeline.app.request(path);
    expect(res.status).toBe(status);
    expect(((await res.json()) as any).error.code).toBe(code);
  });

  it("METRICS_JUDGE=llm: the judge's verdicts, and the default method when it fails", async () => {
    pipeline.deps.metricsJudge = createLlmJudge({
      baseUrl: judgeServer.url,
      model: "judge",
      retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1, timeoutMs: 5_000 },
    });
    try {
      judgeServer.script([
        chatReply((body) => {
          const sources = (body.messages[1].content.match(/<source n=/g) ?? []).length;
          const claims = (body.messages[1].content.match(/<claim n=/g) ?? []).length;
          return JSON.stringify({
            claims: Array.from({ length: claims }, () => true),
            sources: Array.from({ length: sources }, (_, i) => i === 0),
            relevancy: 0.8,
          });
        }),
      ]);
      const judged = (await pipeline.ask(QUESTION, { metrics: true })).body;
      expect(judged.metrics).toMatchObject({
        method: "llm-judge:judge",
        faithfulness: 1,
        answerRelevancy: 0.8,
        contextPrecision: 1,
      });
      judgeServer.script([chatReply("no JSON here")]);
      expect((await pipeline.ask(QUESTION, { metrics: true })).body.metrics.method).toBe("embedding+lexical");
    } finally {
      delete pipeline.deps.metricsJudge;
    }
  });

  it("METRICS_JUDGE=lexical: the same metrics from words alone, no embedding call", async () => {
    const config = pipeline.deps.config;
    pipeline.deps.config = { ...config, METRICS_JUDGE: "lexical" };
    try {
      const { body } = await pipeline.ask(QUESTION, { metrics: true });
      expect(body.metrics).toMatchObject({ method: "lexical", faithfulness: 1 });
      expect(body.metrics.answerRelevancy).toBeGreaterThan(0);
    } finally {
      pipeline.deps.config = config;
    }
  });

  it.each([
    ["an empty reference", { reference: "  " }, /reference/],
    ["a reference that is not a string", { reference: 42 }, /reference must be a string/],
    ["a reference over the bound", { reference: "x".repeat(8001) }, /at most 8000/],
  ])("%s → 400 invalid_request", async (_name, extra, message) => {
    const { status, body } = await pipeline.ask(QUESTION, extra);
    expect(status).toBe(400);
    expect(body.error.code).toBe("invalid_request");
    expect(body.error.message).toMatch(message);
  });

  it("/openapi.json documents /quality and the metrics", async () => {
    const doc = (await (await pipeline.app.request("/openapi.json")).json()) as any;
    expect(doc.paths["/quality"].get.parameters.map((p: { name: string }) => p.name)).toEqual([
      "since",
      "until",
      "collection",
    ]);
    expect(doc.components.schemas.QualityReport.required).toEqual(
      expect.arrayContaining(["queries", "abstentionRate", "metrics", "latencyMs", "feedback"]),
    );
    expect(doc.components.schemas.AskRequest.properties.reference.type).toBe("string");
    expect(doc.components.schemas.AskRequest.properties.metrics.type).toBe("boolean");
    expect(Object.keys(doc.components.schemas.QueryMetrics.properties)).toEqual([
      "method",
      "faithfulness",
      "answerRelevancy",
      "contextPrecision",
      "contextUtilisation",
      "contextRecall",
      "answerCorrectness",
    ]);
  });
});
