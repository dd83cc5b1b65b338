import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createEmbedder } from "../pipelines/embed/index.js";
import { embedderKey } from "../pipelines/embed/types.js";
import {
  embeddingsReply,
  startScriptedServer,
  statusReply,
  vectorFor,
  type Reply,
  type ScriptedServer,
} from "./support/openai-server.js";
import { tempDir } from "./support/temp-dir.js";

const servers: ScriptedServer[] = [];
afterEach(async () => {
  while (servers.length) {
    await servers.pop()!.close();
  }
});

async function scriptedServer(replies: Reply[]): Promise<ScriptedServer> {
  const s = await startScriptedServer(replies);
  servers.push(s);
  return s;
}
const ok = embeddingsReply(4);
const status = statusReply;

describe("openai:<model> embedder against an OpenAI-compatible server", () => {
  it("probes dimensions and normalisation, sends the key, batches, and orders by index", async () => {
    const s = await scriptedServer([ok]);
    const e = await createEmbedder({ model: "openai:bge-small", baseUrl: s.url, apiKey: "sk-test", batchSize: 2 });
    expect(e.identity).toEqual({
      provider: "openai",
      model: "bge-small",
      version: "api",
      dimensions: 4,
      normalized: true,
    });
    expect(embedderKey(e.identity)).toBe("openai:bge-small@api/4/unit");
    const texts = ["a", "bb", "ccc", "dddd", "eeeee"];
    const vectors = await e.embed(texts);
    expect(vectors).toEqual(texts.map((t) => vectorFor(t)));
    // One probe, then ceil(5 / 2) = 3 batches.
    expect(s.requests.map((r) => r.body.input.length)).toEqual([1, 2, 2, 1]);
    expect(s.requests.every((r) => r.auth === "Bearer sk-test" && r.body.model === "bge-small")).toBe(true);
  });

  it("passes requested dimensions and a pinned version into the identity", async () => {
    const s = await scriptedServer([ok]);
    const e = await createEmbedder({
      model: "openai:text-embedding-3-small",
      baseUrl: s.url,
      dimensions: 4,
      version: "2024-01",
    });
    expect(s.requests[0]!.body.dimensions).toBe(4);
    expect(e.identity.version).toBe("2024-01");
  });

  it("retries 429 (honouring Retry-After) and 5xx, then succeeds", async () => {
    const s = await scriptedServer([ok, status(429, { "retry-after": "0" }), status(503), ok]);
    const e = await createEmbedder({ model: "openai:m", baseUrl: s.url });
    expect(await e.embed(["x"])).toEqual([vectorFor("x")]);
    expect(s.requests).toHaveLength(4);
  });

  it("does not retry a 400, and says what the server said", async () => {
    const s = await scriptedServer([ok, status(400)]);
    const e = await createEmbedder({ model: "openai:m", baseUrl: s.url });
    await expect(e.embed(["x"])).rejects.toThrow(/answered 400/);
    expect(s.requests).toHaveLength(2);
  });

  it("names EMBEDDING_API_KEY when the credentials are refused", async () => {
    const s = await scriptedServer([status(401)]);
    await expect(createEmbedder({ model: "openai:m", baseUrl: s.url, apiKey: "bad" })).rejects.toThrow(
      /EMBEDDING_API_KEY/,
    );
    expect(s.requests).toHaveLength(1);
  });

  it("times out a server that never answers, after its retries", async () => {
    const hang: Reply = () => {};
    const s = await scriptedServer([hang]);
    const started = Date.now();
    await expect(createEmbedder({ model: "openai:m", baseUrl: s.url, timeoutMs: 100 })).rejects.toThrow(
      /did not answer within 100 ms/,
    );
    expect(s.requests.length).toBe(5);
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it("refuses a response whose vector size changed after start-up", async () => {
    const wide = embeddingsReply(8);
    const s = await scriptedServer([ok, wide]);
    const e = await createEmbedder({ model: "openai:m", baseUrl: s.url });
    await expect(e.embed(["x"])).rejects.toThrow(/8-dimensional vector; the index expects 4/);
  });

  it("refuses a response with the wrong number of embeddings", async () => {
    const short: Reply = (_r, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ data: [] }));
    };
    const s = await scriptedServer([ok, short]);
    const e = await createEmbedder({ model: "openai:m", baseUrl: s.url });
    await expect(e.embed(["x", "y"])).rejects.toThrow(/returned 0 embeddings for 2 inputs/);
  });
});

describe("onnx:<folder> embedder", () => {
  it("refuses a folder that is not a model", async () => {
    await expect(createEmbedder("onnx:/nonexistent/model")).rejects.toThrow(/config.json is missing/);
  });

  it("says what to install when @huggingface/transformers is absent", async () => {
    const dir = tempDir("rag-onnx-");
    mkdirSync(join(dir, "onnx"));
    for (const f of ["config.json", "tokenizer.json"]) {
      writeFileSync(join(dir, f), "{}");
    }
    writeFileSync(join(dir, "onnx", "model.onnx"), "not really weights");
    await expect(createEmbedder(`onnx:${dir}`)).rejects.toThrow(
      /needs @huggingface\/transformers.*ONNXRUNTIME_NODE_INSTALL_CUDA=skip npm install @huggingface\/transformers/,
    );
  });
});
