import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createExtractiveGenerator } from "../pipelines/generate/extractive.js";
import { createApp } from "../services/api/app.js";
import { parseApiKeys } from "../services/common/api-keys.js";
import { quietLog } from "./support/core.js";
import { apiConfig, type IndexedFolder, indexedFolder } from "./support/pipeline.js";

// The document as the app serves it, checked against itself (its examples) and against what the routes
// really answer: a status or a body shape the routes' declarations do not give fails here.

type Media = { schema?: object; example?: unknown };
type Operation = { responses: Record<string, { content?: Record<string, Media> }> };
type OpenApiDoc = { paths: Record<string, Record<string, Operation>>; components: object };

const DOC_ID = "https://rag-service.local/openapi.json";

/** A JSON Schema 2020-12 validator over the document's components (OpenAPI 3.1 schemas are that dialect). */
function validatorFor(doc: OpenApiDoc) {
  // OpenAPI's own keywords (example, format: binary) are annotations, not constraints.
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(ajv);
  ajv.addFormat("binary", true);
  // Local refs (#/components/schemas/X) resolve against the document, registered under one id.
  const rebase = (schema: object) =>
    JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', `"${DOC_ID}#/components/`));
  ajv.addSchema({ $id: DOC_ID, components: rebase(doc.components) });
  const compiled = new Map<object, ReturnType<typeof ajv.compile>>();
  return (schema: object, value: unknown): string[] => {
    let validate = compiled.get(schema);
    if (!validate) {
      validate = ajv.compile(rebase(schema));
      compiled.set(schema, validate);
    }
    return validate(value) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message}`);
  };
}

const operations = (doc: OpenApiDoc) =>
  Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({ path, method, op })),
  );

let folder: IndexedFolder;
let app: ReturnType<typeof createApp>;
let doc: OpenApiDoc;
let check: ReturnType<typeof validatorFor>;

beforeAll(async () => {
  folder = await indexedFolder({
    "leave.md": "# Leave\n\nEmployees accrue 25 days of paid leave per calendar year.\n",
    "travel.md": "# Travel\n\nTrain travel is booked in second class for journeys under four hours.\n",
  });
  app = folder.pipeline.app;
  doc = (await (await app.request("/openapi.json")).json()) as OpenApiDoc;
  check = validatorFor(doc);
}, 120_000);
afterAll(() => folder?.close());

describe("the OpenAPI document generated from the route declarations", () => {
  it("gives every JSON response an example, and each example fits its declared schema", () => {
    let examples = 0;
    for (const { path, method, op } of operations(doc)) {
      for (const [status, response] of Object.entries(op.responses)) {
        const json = response.content?.["application/json"];
        if (!json) {
          continue;
        }
        const where = `${method.toUpperCase()} ${path} ${status}`;
        expect(json.example, `${where} has no example`).toBeDefined();
        expect(check(json.schema!, json.example), where).toEqual([]);
        examples++;
      }
    }
    expect(examples).toBeGreaterThan(60);
    // The checker itself refuses what does not fit: a wrong value, a missing required field.
    const health = doc.paths["/healthz"]!.get!.responses["200"]!.content!["application/json"]!.schema!;
    expect(check(health, { status: "down" })).not.toEqual([]);
    const error = doc.paths["/ask"]!.post!.responses["400"]!.content!["application/json"]!.schema!;
    expect(check(error, { error: { code: "invalid_request", message: "no request id" } })).not.toEqual([]);
  });

  it("declares text/event-stream for the streams and text/html for the web app, not JSON", () => {
    expect(Object.keys(doc.paths["/ask"]!.post!.responses["200"]!.content!)).toEqual([
      "application/json",
      "text/event-stream",
    ]);
    expect(Object.keys(doc.paths["/v1/chat/completions"]!.post!.responses["200"]!.content!)).toContain(
      "text/event-stream",
    );
    expect(Object.keys(doc.paths["/"]!.get!.responses["200"]!.content!)).toEqual(["text/html"]);
  });
});

describe("what the routes answer on a real index fits the document", () => {
  const covered = new Set<string>();

  /** Calls `template` (its {params} filled in) and checks the status and JSON body against the document. */
  async function call(
    method: string,
    template: string,
    opts: { params?: Record<string, string>; query?: string; body?: unknown; headers?: Record<string, string> } = {},
    on = app,
  ) {
    const path = template.replace(/\{(\w+)\}/g, (_m, name: string) => encodeURIComponent(opts.params?.[name] ?? ""));
    const init: RequestInit = { method: method.toUpperCase(), headers: { ...opts.headers } };
    if (opts.body !== undefined) {
      init.body = JSON.stringify(opts.body);
      (init.headers as Record<string, string>)["content-type"] = "application/json";
    }
    const res = await on.request(`${path}${opts.query ? `?${opts.query}` : ""}`, init);
    const where = `${method.toUpperCase()} ${path} → ${res.status}`;
    const op = doc.paths[template]?.[method];
    expect(op, `${method.toUpperCase()} ${template} is not in the document`).toBeDefined();
    const declared = op!.responses[String(res.status)];
    expect(declared, `${where} is not a documented status`).toBeDefined();
    const type = (res.headers.get("content-type") ?? "").split(";")[0]!.trim();
    const media = declared!.content?.[type];
    expect(media, `${where}: ${type || "no body"} is not a documented content type`).toBeDefined();
    const text = await res.text();
    const body = type === "application/json" ? JSON.parse(text) : text;
    if (type === "application/json") {
      expect(check(media!.schema!, body), `${where}: the body does not fit the schema`).toEqual([]);
    }
    covered.add(`${method} ${template} ${res.status}`);
    return { status: res.status, body };
  }

  it("the read routes: status, documents, a document and its text, whoami, readiness", async () => {
    expect((await call("get", "/healthz")).status).toBe(200);
    expect((await call("get", "/readyz")).status).toBe(200);
    expect((await call("get", "/status")).status).toBe(200);
    const list = await call("get", "/documents", { query: "limit=5" });
    expect(list.status).toBe(200);
    const id = list.body.documents[0].id as string;
    expect((await call("get", "/documents", { query: "limit=0" })).status).toBe(400);
    expect((await call("get", "/documents/{id}", { params: { id } })).status).toBe(200);
    expect((await call("get", "/documents/{id}", { params: { id: "not-a-uuid" } })).status).toBe(404);
    expect((await call("get", "/documents/{id}/content", { params: { id }, query: "view=text" })).status).toBe(200);
    expect((await call("get", "/documents/{id}/content", { params: { id }, query: "view=pdf" })).status).toBe(400);
    expect((await call("get", "/documents/{id}/content", { params: { id } })).status).toBe(200);
    expect((await call("get", "/whoami")).status).toBe(200);
    expect((await call("get", "/openapi.json")).status).toBe(200);
    expect((await call("get", "/metrics")).status).toBe(200);
  });

  it("asking, rating, and the quality routes over the logged answer", async () => {
    const asked = await call("post", "/ask", { body: { question: "How many days of paid leave do employees get?" } });
    expect(asked.status).toBe(200);
    const queryId = asked.body.queryId as string;
    expect((await call("post", "/ask", { body: { question: "" } })).status).toBe(400);
    expect((await call("post", "/feedback", { body: { queryId, rating: 1, comment: "right" } })).status).toBe(201);
    expect((await call("post", "/feedback", { body: { queryId, rating: 5 } })).status).toBe(400);
    const unknown = "00000000-0000-4000-8000-000000000000";
    expect((await call("post", "/feedback", { body: { queryId: unknown, rating: 1 } })).status).toBe(404);
    expect((await call("get", "/queries/{id}/metrics", { params: { id: queryId } })).status).toBe(200);
    expect((await call("get", "/queries/{id}/metrics", { params: { id: "x" } })).status).toBe(400);
    expect((await call("get", "/queries/{id}/metrics", { params: { id: unknown } })).status).toBe(404);
    expect((await call("get", "/quality")).status).toBe(200);
    expect((await call("get", "/quality", { query: "since=yesterday" })).status).toBe(400);
    expect((await call("get", "/quality/series", { query: "bucket=1h" })).status).toBe(200);
    expect((await call("get", "/quality/series", { query: "bucket=1s" })).status).toBe(400);
    expect((await call("get", "/quality/recent", { query: "limit=5" })).status).toBe(200);
    expect((await call("get", "/quality/evals")).status).toBe(200);
  });

  it("the OpenAI-compatible routes, with OpenAI's error shape", async () => {
    expect((await call("get", "/v1/models")).status).toBe(200);
    expect((await call("get", "/v1/models/{id}", { params: { id: "default" } })).status).toBe(200);
    expect((await call("get", "/v1/models/{id}", { params: { id: "nope" } })).status).toBe(404);
    const messages = [{ role: "user", content: "How many days of paid leave do employees get?" }];
    expect((await call("post", "/v1/chat/completions", { body: { model: "default", messages } })).status).toBe(200);
    expect((await call("post", "/v1/chat/completions", { body: { model: "default", messages: [] } })).status).toBe(400);
    expect((await call("post", "/v1/chat/completions", { body: { model: "nope", messages } })).status).toBe(404);
  });

  it("MCP answers JSON-RPC on POST and 405 on GET", async () => {
    const initialize = {
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-03-26", capabilities: {}, clientInfo: { name: "contract-test", version: "1" } },
    };
    const accept = { accept: "application/json, text/event-stream" };
    expect((await call("post", "/mcp", { body: initialize, headers: accept })).status).toBe(200);
    expect((await call("get", "/mcp")).status).toBe(405);
  });

  it("errors before the handler: a key missing or without scope, a body over the limit, a service starting", async () => {
    const key = "contract-ask-key-0123456789abcdef";
    const keyed = createApp({
      config: { ...apiConfig, API_KEYS: parseApiKeys(`${key}:ask:default`) },
      log: quietLog,
      generator: createExtractiveGenerator(),
      core: folder.core,
    });
    expect((await call("get", "/status", {}, keyed)).status).toBe(401);
    const bearer = { authorization: `Bearer ${key}` };
    expect((await call("post", "/admin/reindex", { headers: bearer }, keyed)).status).toBe(403);
    expect((await call("get", "/v1/models", {}, keyed)).status).toBe(401);
    const huge = { question: "x".repeat(apiConfig.MAX_BODY_BYTES) };
    expect((await call("post", "/ask", { body: huge })).status).toBe(413);
    // No admin actions wired (as in an API-only process still starting): the re-index answers 503.
    expect((await call("post", "/admin/reindex")).status).toBe(503);
    const starting = createApp({
      config: apiConfig,
      log: quietLog,
      generator: createExtractiveGenerator(),
      core: null,
    });
    for (const path of ["/status", "/documents", "/whoami", "/quality", "/v1/models"]) {
      expect((await call("get", path, {}, starting)).status).toBe(503);
    }
    expect((await call("get", "/readyz", {}, starting)).status).toBe(503);
  });

  it("every JSON success the document declares was met above", () => {
    // Starting a re-index (202) rebuilds the index in the background: tests/reindex.test.ts covers it.
    const elsewhere = new Set(["post /admin/reindex 202"]);
    const declared = operations(doc).flatMap(({ path, method, op }) =>
      Object.entries(op.responses)
        .filter(([status, r]) => status.startsWith("2") && r.content?.["application/json"])
        .map(([status]) => `${method} ${path} ${status}`),
    );
    expect(declared.filter((d) => !covered.has(d) && !elsewhere.has(d))).toEqual([]);
  });
});
