import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createExtractiveGenerator } from "../pipelines/generate/extractive.js";
import { createGenerator } from "../pipelines/generate/index.js";
import { AskResponseSchema } from "../schemas/api.js";
import { createApp } from "../services/api/app.js";
import type { CoreDeps } from "../services/common/deps.js";
import { KEEPERS, LIGHTHOUSE, parseSse, sourceNumber } from "./support/answer-fixtures.js";
import { quietLog } from "./support/core.js";
import { chatStreamReply, startScriptedServer, userPrompt, type ScriptedServer } from "./support/openai-server.js";
import { apiConfig, indexedFolder, type startPipeline, type IndexedFolder } from "./support/pipeline.js";

let core: CoreDeps;
let pipeline: Awaited<ReturnType<typeof startPipeline>>;
let server: ScriptedServer;
let folder: IndexedFolder;

beforeAll(async () => {
  folder = await indexedFolder({ "lighthouse.txt": `${LIGHTHOUSE}\n`, "keepers.txt": `${KEEPERS}\n` }, "rag-stream-");
  ({ core, pipeline } = folder);
  server = await startScriptedServer([]);
});
afterAll(async () => {
  await server.close();
  await folder.close();
});

const QUESTION = "When was the Skerryvore Fresnel lens installed?";
async function post(body: Record<string, unknown>, headers: Record<string, string> = {}, app = pipeline.app) {
  const res = await app.request("/ask", {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, type: res.headers.get("content-type") ?? "", text: await res.text() };
}

describe("POST /ask with server-sent events", () => {
  it("stream: true sends retrieval, delta, citations, verification, then done with the full response", async () => {
    pipeline.deps.generator = createExtractiveGenerator();
    const r = await post({ question: QUESTION, topK: 2 });
    const events = parseSse((await post({ question: QUESTION, topK: 2, stream: true })).text);
    expect(events.map((e) => e.event)).toEqual(["retrieval", "delta", "citations", "verification", "done"]);
    const [retrieval, delta, citations, verification, done] = events.map((e) => e.data);
    const response = AskResponseSchema.parse(done);
    expect(retrieval.sources.map((s: { path: string }) => s.path)).toContain("lighthouse.txt");
    expect(retrieval.sources[0]).toMatchObject({ n: 1, chunkId: expect.any(String), tokens: expect.any(Number) });
    expect(delta.text).toBe(response.answer);
    expect(citations.citations).toEqual(response.citations);
    expect(verification).toEqual(response.verification);
    // The same answer as JSON, apart from ids and timings.
    const json = JSON.parse(r.text);
    expect(response.answer).toBe(json.answer);
    expect(response.answer).toContain("1844");
  });

  it("Accept: text/event-stream streams too; an explicit stream: false answers JSON", async () => {
    const sse = await post({ question: QUESTION }, { accept: "text/event-stream" });
    expect(sse.type).toMatch(/^text\/event-stream/);
    expect(parseSse(sse.text).at(-1)!.event).toBe("done");
    const json = await post({ question: QUESTION, stream: false }, { accept: "text/event-stream" });
    expect(json.type).toMatch(/^application\/json/);
  });

  it("relays the model's streamed chunks as delta events; done carries the verified answer", async () => {
    pipeline.deps.generator = await createGenerator({
      GENERATOR: "openai",
      LLM_BASE_URL: server.url,
      LLM_MODEL: "m",
      LLM_MAX_ATTEMPTS: 1,
    });
    let n = 0;
    server.script([
      (req, res) => {
        n = sourceNumber(userPrompt(req.body), "lighthouse.txt");
        const deltas = [
          "The Fresnel lens ",
          "of the Skerryvore lighthouse ",
          `was installed in 1844 [${n}]. `,
          `It was painted gold in 1901 [${n}].`,
        ];
        chatStreamReply(deltas, { chunkDelayMs: 5 })(req, res);
      },
    ]);
    const r = await post({ question: QUESTION, stream: true });
    const events = parseSse(r.text);
    const deltas = events.filter((e) => e.event === "delta").map((e) => e.data.text);
    expect(deltas).toHaveLength(4);
    expect(deltas.join("")).toContain("painted gold in 1901");
    expect(events[0]!.event).toBe("retrieval");
    expect(events.slice(-3).map((e) => e.event)).toEqual(["citations", "verification", "done"]);
    const done = events.at(-1)!.data;
    // Verification ran after the stream: the unsupported sentence is gone from the final answer.
    expect(done.answer).toBe(`The Fresnel lens of the Skerryvore lighthouse was installed in 1844 [${n}].`);
    expect(done.verification.removed).toBe(1);
    pipeline.deps.generator = createExtractiveGenerator();
  });

  it("a failure after the stream started is an error event in the documented shape, without internals", async () => {
    const broken = {
      ...core,
      store: { ...core.store, searchDense: () => Promise.reject(new Error("secret detail at x.ts:1")) },
    };
    const app = createApp({ config: apiConfig, log: quietLog, generator: createExtractiveGenerator(), core: broken });
    const r = await post({ question: QUESTION, stream: true }, {}, app);
    expect(r.status).toBe(200);
    const events = parseSse(r.text);
    expect(events.map((e) => e.event)).toEqual(["error"]);
    expect(events[0]!.data.error).toMatchObject({ code: "internal_error", requestId: expect.any(String) });
    expect(r.text).not.toContain("secret detail");
  });

  it("a bad request is refused before any stream starts: 400 JSON", async () => {
    const r = await post({ question: "", stream: true });
    expect(r.status).toBe(400);
    expect(JSON.parse(r.text).error.code).toBe("invalid_request");
  });
});

describe("GET /openapi.json", () => {
  it("is an OpenAPI 3.1 document covering the API, with every $ref resolving", async () => {
    const res = await pipeline.app.request("/openapi.json");
    expect(res.status).toBe(200);
    const doc = (await res.json()) as any;
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(["/ask", "/healthz", "/readyz", "/status", "/admin/reindex", "/openapi.json"]),
    );
    const ask = doc.paths["/ask"].post;
    expect(Object.keys(ask.responses["200"].content)).toEqual(["application/json", "text/event-stream"]);
    expect(Object.keys(ask.responses)).toEqual(expect.arrayContaining(["400", "409", "413", "500", "503"]));
    const schemas = doc.components.schemas;
    expect(schemas.AskRequest.properties.question.maxLength).toBe(apiConfig.MAX_QUESTION_CHARS);
    expect(schemas.AskRequest.properties.topK.maximum).toBe(50);
    expect(schemas.AskRequest.additionalProperties).toBe(false);
    expect(schemas.Error.properties.error.required).toEqual(["code", "message", "requestId"]);
    expect(schemas.AskResponse.required).toEqual(
      expect.arrayContaining(["answer", "abstained", "citations", "verification", "usage", "timings", "queryId"]),
    );
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
    expect(refs.length).toBeGreaterThan(10);
    for (const ref of refs) {
      expect(schemas[ref.split("/").at(-1)!.replace(/"$/, "")]).toBeDefined();
    }
  });
});
