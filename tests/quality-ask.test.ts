import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLlmJudge } from "../pipelines/metrics/llm-judge.js";
import { queryRows } from "../pipelines/store/database.js";
import { AskResponseSchema } from "../schemas/api.js";
import type { CoreDeps } from "../services/common/deps.js";
import { parseSse } from "./support/answer-fixtures.js";
import { chatReply, startScriptedServer, type ScriptedServer } from "./support/openai-server.js";
import { indexedFolder, startPipeline, type IndexedFolder } from "./support/pipeline.js";

// End to end with the real USE-Lite embedder, PGlite and the extractive generator.
let core: CoreDeps;
let pipeline: Awaited<ReturnType<typeof startPipeline>>;
let folder: IndexedFolder;
let judgeServer: ScriptedServer;

const QUESTION = "At what temperature is green tea steeped?";

beforeAll(async () => {
  folder = await indexedFolder(
    {
      "tea.md": "# Tea\n\nGreen tea is steeped at about 80 degrees Celsius for two minutes.\n\nBlack tea needs boiling water.\n",
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
  (await queryRows<{ metrics: unknown }>(core.database.db, sql`SELECT metrics FROM query_log WHERE id = ${queryId}`))[0]?.metrics;

describe("/ask quality metrics", () => {
  it("every answer carries its metrics, and the query log stores them", async () => {
    const { status, body } = await pipeline.ask(QUESTION);
    expect(status).toBe(200);
    expect(AskResponseSchema.parse(body)).toBeTruthy();
    expect(body.abstained).toBe(false);
    const metrics = body.metrics;
    expect(metrics).toMatchObject({ method: "embedding+lexical", faithfulness: 1, contextRecall: null, answerCorrectness: null });
    for (const name of ["answerRelevancy", "contextPrecision", "contextUtilisation"]) {
      expect(metrics[name]).toBeGreaterThan(0);
      expect(metrics[name]).toBeLessThanOrEqual(1);
    }
    expect(body.timings.metricsMs).toBeGreaterThanOrEqual(0);
    expect(await stored(body.queryId)).toEqual(metrics);
  });

  it("with a reference answer: context recall and answer correctness", async () => {
    const reference = "Green tea is steeped at about 80 degrees Celsius.";
    const { body } = await pipeline.ask(QUESTION, { reference });
    expect(body.metrics.contextRecall).toBe(1);
    expect(body.metrics.answerCorrectness).toBeGreaterThan(0.5);
    expect(await stored(body.queryId)).toEqual(body.metrics);
  });

  it("an abstention has no faithfulness or relevancy", async () => {
    const { body } = await pipeline.ask("Who won the 1998 football world cup?", { reference: "France won it." });
    expect(body.abstained).toBe(true);
    expect(body.metrics).toMatchObject({ faithfulness: null, answerRelevancy: null, contextUtilisation: null, answerCorrectness: 0 });
    expect(await stored(body.queryId)).toEqual(body.metrics);
  });

  it("the stream's done event carries the metrics", async () => {
    const res = await pipeline.app.request("/ask", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ question: QUESTION, stream: true }),
    });
    const done = parseSse(await res.text()).find((e) => e.event === "done")!.data;
    expect(done.metrics).toMatchObject({ method: "embedding+lexical", faithfulness: 1 });
    expect(await stored(done.queryId)).toEqual(done.metrics);
  });

  it("Prometheus sees each metric; GET /quality averages them", async () => {
    const text = await (await pipeline.app.request("/metrics")).text();
    expect(text).toMatch(/rag_answer_quality_count\{metric="faithfulness"\} [1-9]/);
    const { body } = { body: (await (await pipeline.app.request("/quality?since=1h")).json()) as any };
    expect(body.queries).toBeGreaterThanOrEqual(4);
    expect(body.metrics.faithfulness).toEqual({ mean: 1, count: body.answered });
    expect(body.metrics.contextRecall.count).toBe(2);
  });

  it("METRICS_JUDGE=llm: the judge's verdicts, and the default method when it fails", async () => {
    pipeline.deps.metricsJudge = createLlmJudge({ baseUrl: judgeServer.url, model: "judge", retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1, timeoutMs: 5_000 } });
    try {
      judgeServer.script([chatReply((body) => {
        const sources = (body.messages[1].content.match(/<source n=/g) ?? []).length;
        return JSON.stringify({ claims: [true], sources: Array.from({ length: sources }, (_, i) => i === 0), relevancy: 0.8 });
      })]);
      const judged = (await pipeline.ask(QUESTION)).body;
      expect(judged.metrics).toMatchObject({ method: "llm-judge:judge", faithfulness: 1, answerRelevancy: 0.8, contextPrecision: 1 });
      judgeServer.script([chatReply("no JSON here")]);
      expect((await pipeline.ask(QUESTION)).body.metrics.method).toBe("embedding+lexical");
    } finally {
      delete pipeline.deps.metricsJudge;
    }
  });

  it("METRICS_JUDGE=lexical: the same metrics from words alone, no embedding call", async () => {
    const config = pipeline.deps.config;
    pipeline.deps.config = { ...config, METRICS_JUDGE: "lexical" };
    try {
      const { body } = await pipeline.ask(QUESTION);
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
    expect(doc.paths["/quality"].get.parameters.map((p: { name: string }) => p.name)).toEqual(["since", "until", "collection"]);
    expect(doc.components.schemas.QualityReport.required).toEqual(expect.arrayContaining(["queries", "abstentionRate", "metrics", "latencyMs", "feedback"]));
    expect(doc.components.schemas.AskRequest.properties.reference.type).toBe("string");
    expect(Object.keys(doc.components.schemas.QueryMetrics.properties)).toEqual([
      "method", "faithfulness", "answerRelevancy", "contextPrecision", "contextUtilisation", "contextRecall", "answerCorrectness",
    ]);
  });
});
