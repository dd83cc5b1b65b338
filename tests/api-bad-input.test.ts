import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../services/api/app.js";
import type { ApiDeps } from "../services/api/context.js";
import { createExtractiveGenerator } from "../pipelines/generate/extractive.js";
import { makeCore, quietLog } from "./support/core.js";
import { apiConfig } from "./support/pipeline.js";
import type { CoreDeps } from "../services/common/deps.js";

let core: CoreDeps;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ core, cleanup } = await makeCore("pglite")));
afterAll(() => cleanup());

const appWith = (overrides: Partial<ApiDeps> = {}) =>
  createApp({ config: apiConfig, log: quietLog, generator: createExtractiveGenerator(), core, ...overrides });

async function post(
  body: string,
  headers: Record<string, string> = { "content-type": "application/json" },
  deps?: Partial<ApiDeps>,
) {
  const res = await appWith(deps).request("/ask", { method: "POST", headers, body });
  const text = await res.text();
  return {
    status: res.status,
    text,
    json: JSON.parse(text) as { error: { code: string; message: string; requestId: string } },
  };
}

/** Every error: the documented shape, a request id, and nothing from the inside of the process. */
function expectError(r: Awaited<ReturnType<typeof post>>, status: number, code: string, message?: RegExp) {
  expect(r.status).toBe(status);
  expect(r.json.error.code).toBe(code);
  expect(r.json.error.requestId).toMatch(/\S/);
  expect(r.json.error.message.length).toBeGreaterThan(10);
  if (message) {
    expect(r.json.error.message).toMatch(message);
  }
  expect(r.text).not.toMatch(/\bat .*\.(ts|js):\d+|node_modules|Error:/);
}

describe("POST /ask rejects bad input with 4xx in the documented shape", () => {
  it.each([
    ["an empty question", { question: "" }, /question.*empty/],
    ["a blank question", { question: "   \n\t" }, /question.*empty/],
    ["a missing question", {}, /question/],
    ["a question of the wrong type", { question: 42 }, /question.*string/],
    ["a null question", { question: null }, /question/],
    ["an array body", [], /expected object/i],
    ["topK as a string", { question: "q?", topK: "5" }, /topK/],
    ["topK zero", { question: "q?", topK: 0 }, /topK/],
    ["topK over the bound", { question: "q?", topK: 51 }, /topK/],
    ["a fractional topK", { question: "q?", topK: 2.5 }, /topK/],
    ["maxContextTokens below the floor", { question: "q?", maxContextTokens: 10 }, /maxContextTokens/],
    ["collection of the wrong type", { question: "q?", collection: ["a"] }, /collection/],
    ["an unknown field", { question: "q?", temperature: 0.2 }, /temperature/],
    ["a question over the length limit", { question: "x".repeat(2001) }, /2000 characters/],
    ["stream of the wrong type", { question: "q?", stream: "yes" }, /stream/],
  ])("%s → 400 invalid_request", async (_name, body, message) => {
    expectError(await post(JSON.stringify(body)), 400, "invalid_request", message);
  });

  it.each([
    ["malformed JSON", '{"question": "what', /not valid JSON/],
    ["an empty body", "", /not valid JSON/],
    ["a JSON string", '"just a string"', /expected object/i],
  ])("%s → 400 invalid_request", async (_name, body, message) => {
    expectError(await post(body), 400, "invalid_request", message);
  });

  // Valid JSON, but no text: "\ud800" escapes a lone UTF-16 surrogate, which UTF-8 cannot carry.
  it.each([
    ["a lone high surrogate in the question", String.raw`{"question": "\ud800"}`, "question"],
    ["a lone low surrogate inside the question", String.raw`{"question": "why \udc00 now?"}`, "question"],
    ["surrogates in the wrong order", String.raw`{"question": "x\udc00\ud800"}`, "question"],
    ["a lone surrogate in the collection", String.raw`{"question": "q?", "collection": "a\ud83d"}`, "collection"],
    ["a lone surrogate in the reference", String.raw`{"question": "q?", "reference": "\ud800 r"}`, "reference"],
    [
      "a lone surrogate in a history turn",
      String.raw`{"question": "and then?", "history": [{"role": "user", "content": "\udfff"}]}`,
      "history.0.content",
    ],
  ])("%s → 400 invalid_request naming the field", async (_name, body, field) => {
    const r = await post(body);
    expectError(r, 400, "invalid_request", /well-formed Unicode.*lone UTF-16 surrogate/);
    expect((r.json.error as { details?: Array<{ path: string }> }).details?.map((d) => d.path)).toEqual([field]);
  });

  it("a surrogate pair (an emoji), escaped or not, is text like any other → 200", async () => {
    for (const body of [
      String.raw`{"question": "what is \ud83d\ude00?"}`,
      JSON.stringify({ question: "what is 😀?" }),
    ]) {
      expect((await post(body)).status).toBe(200);
    }
  });

  it("a lone surrogate in /feedback's comment and /v1/chat/completions' messages → 400 naming the field", async () => {
    const app = appWith();
    const feedback = await app.request("/feedback", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: String.raw`{"queryId": "00000000-0000-4000-8000-000000000000", "rating": 1, "comment": "\ud800"}`,
    });
    expect(feedback.status).toBe(400);
    expect(((await feedback.json()) as { error: { message: string } }).error.message).toMatch(/^comment: comment must/);
    for (const content of [String.raw`"\ud800"`, String.raw`[{"type": "text", "text": "ok \udc00"}]`]) {
      const chat = await app.request("/v1/chat/completions", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: `{"model": "default", "messages": [{"role": "user", "content": ${content}}]}`,
      });
      expect(chat.status).toBe(400);
      const err = ((await chat.json()) as { error: { message: string; type: string } }).error;
      expect(err.type).toBe("invalid_request_error");
      expect(err.message).toMatch(/messages\.0\.content.*lone UTF-16 surrogate/);
    }
  });

  it("a body that is not declared as JSON → 400", async () => {
    expectError(
      await post("question=hi", { "content-type": "application/x-www-form-urlencoded" }),
      400,
      "invalid_request",
      /application\/json/,
    );
  });

  it("a body over the limit → 413 payload_too_large, declared or streamed", async () => {
    const big = JSON.stringify({ question: "a".repeat(70 * 1024) });
    expectError(await post(big), 413, "payload_too_large", /65536 bytes/);
    // Without Content-Length the limit is enforced while reading.
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(big));
        controller.close();
      },
    });
    const res = await appWith().request("/ask", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: stream,
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("payload_too_large");
  });

  it("an unknown route → 404 not_found in the same shape", async () => {
    const res = await appWith().request("/nope");
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("not_found");
  });

  it("before start-up finishes → 503 index_not_ready, and /readyz says starting", async () => {
    expectError(await post(JSON.stringify({ question: "q?" }), undefined, { core: null }), 503, "index_not_ready");
    const res = await appWith({ core: null }).request("/readyz");
    expect(res.status).toBe(503);
    expect(((await res.json()) as { status: string }).status).toBe("starting");
    expect((await appWith({ core: null }).request("/healthz")).status).toBe(200);
  });

  it("an index built by another embedder → 409 embedding_model_mismatch naming both", async () => {
    const served = core.runtime.current();
    const other = {
      ...served.embedder.identity,
      provider: "openai",
      model: "text-embedding-3-small",
      dimensions: 1536,
    };
    // The served index a process gets when the active generation was built by `other`.
    const mismatched = { ...served, mismatch: { indexed: other, current: served.embedder.identity } };
    const r = await post(JSON.stringify({ question: "q?" }), undefined, {
      core: { ...core, runtime: { ...core.runtime, current: () => mismatched, refresh: async () => mismatched } },
    });
    expectError(r, 409, "embedding_model_mismatch", /text-embedding-3-small.*use-lite/);
  });

  it("an internal failure → 500 internal_error without internals", async () => {
    const broken = {
      ...core,
      store: { ...core.store, searchDense: () => Promise.reject(new Error("secret detail at x.ts:1")) },
    };
    const r = await post(JSON.stringify({ question: "what?" }), undefined, { core: broken });
    expectError(r, 500, "internal_error");
    expect(r.text).not.toContain("secret detail");
  });

  it("a good request on an empty index → 200 and an abstention, readyz ready", async () => {
    const res = await appWith().request("/ask", {
      method: "POST",
      headers: { "content-type": "application/json; charset=utf-8" },
      body: JSON.stringify({ question: "What is ownership?", topK: 3, maxContextTokens: 500 }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { abstained: boolean; citations: unknown[]; usage: { contextBudget: number } };
    expect(body.abstained).toBe(true);
    expect(body.citations).toEqual([]);
    expect(body.usage.contextBudget).toBe(500);
    const ready = await appWith().request("/readyz");
    expect(ready.status).toBe(200);
    expect(((await ready.json()) as { status: string }).status).toBe("ready");
  });
});
