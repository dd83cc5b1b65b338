import { writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withSpan } from "../pipelines/tracing.js";
import { registerTracing, startTracing, type Tracing } from "../services/common/tracing.js";
import { makeCore } from "./support/core.js";
import { startPipeline } from "./support/pipeline.js";
import { tempDir } from "./support/temp-dir.js";

const exporter = new InMemorySpanExporter();
let tracing: Tracing | undefined;
let pipeline: Awaited<ReturnType<typeof startPipeline>>;
let cleanup: () => Promise<void>;
let dir: string;

beforeAll(async () => {
  tracing = registerTracing({ serviceName: "rag-test", spanProcessors: [new SimpleSpanProcessor(exporter)] });
  dir = tempDir("rag-tracing-");
  writeFileSync(
    join(dir, "owls.md"),
    "# Owls\n\nA barn owl hunts by sound in complete darkness.\n\n## Diet\n\nBarn owls eat voles and mice.\n",
  );
  const made = await makeCore("pglite");
  cleanup = made.cleanup;
  pipeline = await startPipeline(made.core, [dir]);
  await pipeline.queue.idle();
});
afterAll(async () => {
  await pipeline?.stop();
  await cleanup?.();
  await tracing?.shutdown();
});

const named = (spans: ReadableSpan[], name: string) => spans.filter((s) => s.name === name);
const childrenOf = (spans: ReadableSpan[], parent: ReadableSpan) =>
  spans.filter((s) => s.parentSpanContext?.spanId === parent.spanContext().spanId).map((s) => s.name);

describe("OpenTelemetry spans", () => {
  it("trace an ingestion: one index_file span with read, parse, chunk, embed and store under it", () => {
    const spans = exporter.getFinishedSpans();
    const [root] = named(spans, "ingest.index_file");
    expect(root).toBeDefined();
    expect(root!.attributes).toMatchObject({
      "rag.document.path": "owls.md",
      "rag.outcome": "indexed",
      "rag.chunks.reused": 0,
    });
    expect(root!.attributes["rag.document.id"]).toEqual(expect.any(String));
    expect(root!.attributes["rag.chunks"]).toBeGreaterThan(0);
    expect(childrenOf(spans, root!)).toEqual([
      "ingest.read",
      "ingest.parse",
      "ingest.chunk",
      "ingest.embed",
      "ingest.store",
    ]);
    const [embed] = named(spans, "ingest.embed");
    expect(embed!.attributes["rag.chunks.embedded"]).toBe(root!.attributes["rag.chunks"]);
    const [store] = named(spans, "ingest.store");
    expect(store!.attributes["rag.tokens"]).toBeGreaterThan(0);
    expect(store!.attributes["rag.document.id"]).toBe(root!.attributes["rag.document.id"]);
    // Everything of one ingestion is one trace.
    expect(new Set(spans.filter((s) => s.name.startsWith("ingest.")).map((s) => s.spanContext().traceId)).size).toBe(1);
  });

  it("trace an /ask: the request span, the ask span, and a span per stage with ids and token counts", async () => {
    exporter.reset();
    const res = await pipeline.app.request("/ask", {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": "trace-test-1" },
      // Metrics inline, so their span is the ask's child (deferred, it comes after the response).
      body: JSON.stringify({ question: "How does a barn owl hunt?", metrics: true }),
    });
    const body = (await res.json()) as { queryId: string; usage: { contextTokens: number } };
    expect(res.status).toBe(200);
    const spans = exporter.getFinishedSpans();
    const [http] = named(spans, "POST /ask");
    expect(http!.attributes).toMatchObject({ "rag.request.id": "trace-test-1", "http.response.status_code": 200 });
    const [ask] = named(spans, "ask");
    expect(ask!.parentSpanContext?.spanId).toBe(http!.spanContext().spanId);
    expect(ask!.attributes).toMatchObject({
      "rag.query.id": body.queryId,
      "rag.tokens.context": body.usage.contextTokens,
    });
    expect(ask!.attributes["rag.generation.id"]).toEqual(expect.any(Number));
    const stages = childrenOf(spans, ask!);
    for (const stage of ["ask.retrieve", "ask.rerank", "ask.pack", "ask.generate", "ask.verify", "ask.metrics"]) {
      expect(stages).toContain(stage);
    }
    expect(named(spans, "ask.retrieve")[0]!.attributes["rag.candidates"]).toBeGreaterThan(0);
    expect(named(spans, "ask.pack")[0]!.attributes["rag.tokens.context"]).toBe(body.usage.contextTokens);
    expect(named(spans, "ask.generate")[0]!.attributes["rag.generator"]).toBe("extractive");
  });

  it("records a failing stage as an error span and rethrows", async () => {
    exporter.reset();
    await expect(withSpan("test.fails", {}, async () => Promise.reject(new Error("disk on fire")))).rejects.toThrow(
      "disk on fire",
    );
    const [span] = named(exporter.getFinishedSpans(), "test.fails");
    expect(span!.status).toMatchObject({ code: 2, message: "disk on fire" });
    expect(span!.events.map((e) => e.name)).toContain("exception");
  });
});

describe("OTLP export", () => {
  it("POSTs the spans to <endpoint>/v1/traces", async () => {
    const requests: Array<{ method: string; url: string; type: string; body: string }> = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        requests.push({
          method: req.method!,
          url: req.url!,
          type: req.headers["content-type"] ?? "",
          body: Buffer.concat(chunks).toString("utf8"),
        });
        res.writeHead(200, { "content-type": "application/json" }).end("{}");
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    // The in-memory provider above is still registered: replace it for this test.
    await tracing?.shutdown();
    tracing = undefined;
    const otlp = startTracing(
      {
        OTEL_TRACES_EXPORTER: "otlp",
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}/`,
        OTEL_SERVICE_NAME: "rag-otlp-test",
      },
      "test",
    );
    try {
      await withSpan("ingest.index_file", { "rag.document.path": "a.md" }, () =>
        withSpan("ingest.embed", { "rag.chunks": 3 }, async () => {}),
      );
      await otlp.shutdown(); // flushes the batch
      expect(requests.length).toBeGreaterThan(0);
      expect(requests[0]).toMatchObject({ method: "POST", url: "/v1/traces" });
      const all = requests.map((r) => r.body).join("\n");
      expect(all).toContain("ingest.index_file");
      expect(all).toContain("ingest.embed");
      expect(all).toContain("rag-otlp-test");
      expect(all).toContain("a.md");
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it("registers nothing with the default exporter (none)", async () => {
    const none = startTracing(
      { OTEL_TRACES_EXPORTER: "none", OTEL_EXPORTER_OTLP_ENDPOINT: "http://localhost:4318" },
      "test",
    );
    const recording = withSpan("test.off", {}, (span) => span.isRecording());
    expect(recording).toBe(false);
    await none.shutdown();
  });
});
