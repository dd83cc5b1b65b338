import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../services/api/app.js";
import type { CoreDeps } from "../services/common/deps.js";
import { createExtractiveGenerator } from "../pipelines/generate/extractive.js";
import { makeCore, quietLog } from "./support/core.js";
import { apiConfig, startPipeline } from "./support/pipeline.js";
import { tempDir } from "./support/temp-dir.js";

let core: CoreDeps;
let cleanup: () => Promise<void>;
let pipeline: Awaited<ReturnType<typeof startPipeline>>;
let dir: string;

/** The value of one series in Prometheus text format, or undefined when it is not exposed. */
function value(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    const m = /^([a-z_:]+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) {
      continue;
    }
    const got = Object.fromEntries([...(m[2] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (
      Object.entries(labels).every(([k, v]) => got[k] === v) &&
      Object.keys(got).length === Object.keys(labels).length
    ) {
      return Number(m[3]);
    }
  }
  return undefined;
}

async function scrape(app = pipeline.app) {
  const res = await app.request("/metrics");
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
}

beforeAll(async () => {
  dir = tempDir("rag-metrics-");
  writeFileSync(
    join(dir, "bread.md"),
    "# Bread\n\nSourdough bread is leavened by wild yeast and lactic acid bacteria.\n",
  );
  writeFileSync(join(dir, "cheese.md"), "# Cheese\n\nCheddar cheese is aged for months in a cool cellar.\n");
  writeFileSync(
    join(dir, "broken.txt"),
    Uint8Array.from({ length: 3000 }, (_, i) => (i * 131) % 256),
  );
  ({ core, cleanup } = await makeCore("pglite"));
  pipeline = await startPipeline(core, [dir]);
  await pipeline.queue.idle();
});
afterAll(async () => {
  await pipeline.stop();
  await cleanup();
});

describe("GET /metrics", () => {
  it("counts ingestion by outcome, with durations", async () => {
    const text = await scrape();
    expect(value(text, "rag_ingest_jobs_total", { job: "index-file", outcome: "indexed" })).toBe(2);
    expect(value(text, "rag_ingest_jobs_total", { job: "index-file", outcome: "failed" })).toBe(1);
    expect(value(text, "rag_ingest_duration_seconds_count", { job: "index-file", outcome: "indexed" })).toBe(2);
    expect(value(text, "rag_ingest_duration_seconds_sum", { job: "index-file", outcome: "indexed" })).toBeGreaterThan(
      0,
    );
    expect(value(text, "rag_ingest_chunks_total", { kind: "embedded" })).toBeGreaterThanOrEqual(2);
    expect(value(text, "rag_queue_jobs", { state: "waiting" })).toBe(0);
    expect(value(text, "rag_queue_jobs", { state: "active" })).toBe(0);
  });

  it("records /ask latency, tokens, abstentions and verifier removals from the responses", async () => {
    const answers = [
      await pipeline.ask("How is sourdough bread leavened?"),
      await pipeline.ask("How long is cheddar aged?"),
      await pipeline.ask("What is the boiling point of liquid nitrogen on Neptune?"),
    ];
    for (const a of answers) {
      expect(a.status).toBe(200);
    }
    // A streamed answer is observed too, when it completes.
    const streamed = await pipeline.app.request("/ask", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ question: "How is sourdough bread leavened?", stream: true }),
    });
    await streamed.text();
    const sum = (f: (b: any) => number) => answers.reduce((s, a) => s + f(a.body), 0);
    const text = await scrape();
    expect(value(text, "rag_ask_duration_seconds_count", { mode: "json" })).toBe(3);
    expect(value(text, "rag_ask_duration_seconds_count", { mode: "stream" })).toBe(1);
    expect(value(text, "rag_ask_duration_seconds_sum", { mode: "json" })).toBeGreaterThan(0);
    // The streamed answer repeats the first question, so its figures are the first answer's.
    const first = answers[0]!.body;
    expect(value(text, "rag_ask_tokens_total", { kind: "context" })).toBe(
      sum((b) => b.usage.contextTokens) + first.usage.contextTokens,
    );
    expect(value(text, "rag_ask_tokens_total", { kind: "answer" })).toBe(
      sum((b) => b.usage.answerTokens) + first.usage.answerTokens,
    );
    const abstained = answers.filter((a) => a.body.abstained).length + (first.abstained ? 1 : 0);
    expect(value(text, "rag_ask_answers_total", { abstained: "true" }) ?? 0).toBe(abstained);
    expect(value(text, "rag_ask_answers_total", { abstained: "false" }) ?? 0).toBe(4 - abstained);
    expect(value(text, "rag_verifier_removals_total", { kind: "sentence" })).toBe(
      sum((b) => b.verification.removed) + first.verification.removed,
    );
    expect(value(text, "rag_verifier_removals_total", { kind: "citation" })).toBe(
      sum((b) => b.verification.citationsRemoved) + first.verification.citationsRemoved,
    );
    expect(value(text, "rag_http_requests_total", { method: "POST", route: "/ask", status: "200" })).toBe(4);
  });

  it("each app has its own registry", async () => {
    const other = createApp({ config: apiConfig, log: quietLog, generator: createExtractiveGenerator(), core });
    const text = await scrape(other);
    expect(value(text, "rag_ingest_jobs_total", { job: "index-file", outcome: "indexed" })).toBeUndefined();
    expect(value(text, "rag_ask_duration_seconds_count", { mode: "json" })).toBeUndefined();
    expect(text).toMatch(/# TYPE rag_ask_duration_seconds histogram/);
  });
});
