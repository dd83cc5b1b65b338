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
