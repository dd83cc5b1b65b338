import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queryRows } from "../pipelines/store/database.js";
import { createApp } from "../services/api/app.js";
import { createAuthenticator } from "../services/api/auth.js";
import type { ApiConfig, ApiDeps } from "../services/api/context.js";
import { runKeysCommand } from "../services/cli/keys-command.js";
import { OPEN_PRINCIPAL, parseApiKeys } from "../services/common/api-keys.js";
import type { CoreDeps } from "../services/common/deps.js";
import { apiConfig, waitFor } from "./support/pipeline.js";
import { type IndexedCollections, indexedCollections } from "./support/tenants.js";

// Two tenants, each with words found nowhere else: if one of them shows up in a body the other
// tenant received, text leaked.
const HR_MARKERS = ["Quillfeather", "salaries.md", "payroll.lead"];
const ENG_MARKERS = ["Obsidianlantern", "deploys.md"];
const KEYS = {
  hr: "hr-ask-key-0123456789abcdef",
  eng: "eng-ask-key-0123456789abcdef",
  engAdmin: "eng-admin-key-0123456789abcd",
  engIngest: "eng-ingest-key-0123456789abc",
  ops: "ops-all-key-0123456789abcdef",
};
const API_KEYS = parseApiKeys(
  `${KEYS.hr}:ask:hr;${KEYS.eng}:ask:eng;${KEYS.engAdmin}:admin:eng;${KEYS.engIngest}:ingest:eng;${KEYS.ops}:ask,ingest,admin:*`,
);

let tenants: IndexedCollections;
let core: CoreDeps;
let base: ApiDeps;
let app: ReturnType<typeof createApp>;
let hrDir: string;

type Call = { status: number; text: string; json: any; headers: Headers };
async function call(
  a: ReturnType<typeof createApp>,
  method: string,
  path: string,
  key?: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Call> {
  const res = await a.request(path, {
    method,
    headers: {
      ...(key ? { authorization: `Bearer ${key}` } : {}),
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
      ...headers,
    },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    // event streams and Prometheus text are not JSON
  }
  return { status: res.status, text, json, headers: res.headers };
}
const appWith = (config: Partial<ApiConfig>, extra: Partial<ApiDeps> = {}) =>
  createApp({ ...base, metrics: undefined, config: { ...apiConfig, API_KEYS, ...config }, ...extra });

beforeAll(async () => {
  tenants = await indexedCollections({
    files: {
      hr: {
        "salaries.md":
          "# Parental leave\n\nParental leave is twenty six weeks, approved by Ms Quillfeather in the people team.\n\n" +
          "# Payroll\n\nPayroll questions go to payroll.lead@example.com or +44 20 7946 0958 during office hours.\n",
      },
      eng: {
        "deploys.md": "# Deploys\n\nProduction deploys run on the Obsidianlantern cluster every Tuesday morning.\n",
      },
    },
    admin: true,
  });
  ({ core, base } = tenants);
  hrDir = tenants.dirs.hr!;
  app = appWith({});
});
afterAll(async () => tenants.close());

describe("authentication", () => {
  it("is off with no keys anywhere (the embedded default), and on once the keys table holds one", async () => {
    const open = createApp({
      ...base,
      metrics: undefined,
      auth: createAuthenticator({ core: () => core, cacheMs: 0 }),
    });
    const before = await call(open, "GET", "/documents");
    expect(before.status).toBe(200);
    expect(before.json.total).toBe(2);

    const lines: string[] = [];
    await runKeysCommand(["add", "--name", "hr bot", "--scopes", "ask", "--collections", "hr"], core.database.db, (l) =>
      lines.push(l),
    );
    const key = lines.find((l) => l.startsWith("key:"))!.split(/\s+/)[1]!;
    const id = lines.find((l) => l.startsWith("id:"))!.split(/\s+/)[1]!;
    expect(key).toMatch(/^rk_[A-Za-z0-9_-]{43}$/);
    // Only the hash is stored.
    const stored = await queryRows<{ key_hash: string }>(core.database.db, sql`SELECT key_hash FROM api_keys`);
    expect(JSON.stringify(stored)).not.toContain(key);

    expect((await call(open, "GET", "/documents")).status).toBe(401);
    const mine = await call(open, "GET", "/documents", key);
    expect(mine.status).toBe(200);
    expect(mine.json.documents.map((d: any) => d.collection)).toEqual(["hr"]);
    const viaHeader = await open.request("/documents", { headers: { "x-api-key": key } });
    expect(viaHeader.status).toBe(200);

    await runKeysCommand(["revoke", id], core.database.db, () => {});
    expect((await call(open, "GET", "/documents", key)).status).toBe(401);
    // Revoking the last key locks the service; it does not fall back to open.
    expect((await call(open, "GET", "/documents")).status).toBe(401);
    const listed: string[] = [];
    await runKeysCommand(["list"], core.database.db, (l) => listed.push(l));
    expect(listed.join("\n")).toMatch(new RegExp(`${id}.*revoked`));
    await expect(
      runKeysCommand(["add", "--name", "x", "--scopes", "write"], core.database.db, () => {}),
    ).rejects.toThrow(/unknown scope/);
  });

  it("answers 401 with WWW-Authenticate for a missing or unknown key, 403 for a key without the route's scope", async () => {
    const missing = await call(app, "POST", "/ask", undefined, { question: "How long is parental leave?" });
    expect(missing.status).toBe(401);
    expect(missing.json.error).toMatchObject({ code: "unauthorized" });
    expect(missing.json.error.requestId).toBeTruthy();
    expect(missing.headers.get("www-authenticate")).toMatch(/^Bearer/);
    const unknown = await call(app, "GET", "/status", "not-a-real-key-0123456789");
    expect(unknown.status).toBe(401);
    expect(unknown.json.error.message).toMatch(/not valid/);
    expect(
      (await call(app, "GET", "/status", undefined, undefined, { authorization: "Basic Zm9vOmJhcg==" })).status,
    ).toBe(401);

    const ingestOnAsk = await call(app, "POST", "/ask", KEYS.engIngest, { question: "When do deploys run?" });
    expect(ingestOnAsk.status).toBe(403);
    expect(ingestOnAsk.json.error.code).toBe("forbidden");
    expect((await call(app, "GET", "/documents", KEYS.engIngest)).status).toBe(200);
    expect((await call(app, "POST", "/admin/reindex", KEYS.eng)).status).toBe(403);
    expect((await call(app, "GET", "/metrics", KEYS.eng)).status).toBe(403);
    expect((await call(app, "GET", "/metrics")).status).toBe(401);
    expect((await call(app, "GET", "/metrics", KEYS.ops)).status).toBe(200);
    expect((await call(appWith({ METRICS_PUBLIC: true }), "GET", "/metrics")).status).toBe(200);
    // Unknown routes need a key too, so an anonymous caller cannot map the API.
    expect((await call(app, "GET", "/secret-route")).status).toBe(401);
    expect((await call(app, "GET", "/secret-route", KEYS.eng)).status).toBe(404);
  });

  it("leaves health, readiness and the OpenAPI document open", async () => {
    for (const path of ["/healthz", "/readyz", "/openapi.json"]) {
      expect((await call(app, "GET", path)).status).toBe(200);
    }
  });
});

describe("cross-tenant probes: the eng key never sees hr text through any route", () => {
  const engBodies: string[] = [];
  const eng = async (method: string, path: string, body?: unknown, headers?: Record<string, string>) => {
    const r = await call(app, method, path, KEYS.eng, body, headers);
    engBodies.push(r.text);
    return r;
  };
  let hrQueryId: string;

  it("control: the hr key gets its own text, so the probes below would see a leak", async () => {
    const r = await call(app, "POST", "/ask", KEYS.hr, { question: "Who approves parental leave?" });
    expect(r.status).toBe(200);
    expect(r.text).toContain("Quillfeather");
    hrQueryId = r.json.queryId;
  });

  it("/ask, JSON and streaming, with and without naming the other collection", async () => {
    const asked = await eng("POST", "/ask", { question: "Who approves parental leave?" });
    expect(asked.status).toBe(200);
    expect(asked.json.citations.every((c: any) => !HR_MARKERS.some((m) => c.path.includes(m)))).toBe(true);
    const named = await eng("POST", "/ask", { question: "Who approves parental leave?", collection: "hr" });
    expect(named.status).toBe(404);
    expect(named.json.error.code).toBe("not_found");
    const streamed = await eng("POST", "/ask", {
      question: "Who approves parental leave? Quill feather",
      stream: true,
    });
    expect(streamed.status).toBe(200);
    expect(streamed.text).toContain("event: done");
    const sse = await eng("POST", "/ask", { question: "payroll questions email" }, { accept: "text/event-stream" });
    expect(sse.text).toContain("event: done");
    const own = await eng("POST", "/ask", { question: "When do production deploys run?" });
    expect(own.text).toContain("Obsidianlantern");
  });

  it("/documents, /documents/:id, /status", async () => {
    const list = await eng("GET", "/documents");
    expect(list.json.documents.map((d: any) => d.path)).toEqual(["deploys.md"]);
    expect(list.json.total).toBe(1);
    expect((await eng("GET", "/documents?collection=hr")).status).toBe(404);
    expect((await eng("GET", "/documents?status=indexed&limit=200")).json.total).toBe(1);
    const hrDoc = (await core.catalog.allDocuments()).find((d) => d.collection === "hr")!;
    const byId = await eng("GET", `/documents/${hrDoc.id}`);
    expect(byId.status).toBe(404);
    expect(byId.json.error.code).toBe("not_found");
    const status = await eng("GET", "/status");
    expect(status.status).toBe(200);
    expect(status.json.sources.map((s: any) => s.collection)).toEqual(["eng"]);
    expect(status.json.documents.indexed).toBe(1);
    expect(status.text).not.toContain(hrDir);
  });

  it("/feedback on the other tenant's queryId is 404, as for an unknown one", async () => {
    const r = await eng("POST", "/feedback", { queryId: hrQueryId, rating: -1 });
    expect(r.status).toBe(404);
    expect(r.json.error.code).toBe("not_found");
    expect((await call(app, "POST", "/feedback", KEYS.hr, { queryId: hrQueryId, rating: 1 })).status).toBe(201);
    expect((await call(app, "POST", "/feedback", KEYS.ops, { queryId: hrQueryId, rating: 1 })).status).toBe(201);
  });

  it("/quality counts only the tenant's own queries", async () => {
    const mine = await eng("GET", "/quality");
    expect(mine.status).toBe(200);
    const engLogged = await queryRows<{ n: number }>(
      core.database.db,
      sql`SELECT count(*)::int AS n FROM query_log WHERE collections = ARRAY['eng']::text[]`,
    );
    expect(mine.json.queries).toBe(Number(engLogged[0]!.n));
    expect(mine.json.feedback.up).toBe(0);
    expect((await eng("GET", "/quality?collection=hr")).status).toBe(404);
    const all = await call(app, "GET", "/quality", KEYS.ops);
    expect(all.json.queries).toBeGreaterThan(mine.json.queries);
  });

  it("/admin/reindex needs admin for every collection: a tenant's admin key is refused", async () => {
    const r = await eng("POST", "/admin/reindex");
    expect(r.status).toBe(403);
    const scopedAdmin = await call(app, "POST", "/admin/reindex", KEYS.engAdmin);
    expect(scopedAdmin.status).toBe(403);
    expect(scopedAdmin.json.error.message).toMatch(/every collection/);
    engBodies.push(scopedAdmin.text);
  });

  it("no body the eng keys received contains an hr marker", () => {
    expect(engBodies.length).toBeGreaterThan(10);
    for (const body of engBodies) {
      for (const m of HR_MARKERS) {
        expect(body).not.toContain(m);
      }
    }
  });

  it("the hr key cannot see eng text either", async () => {
    const r = await call(app, "POST", "/ask", KEYS.hr, { question: "When do production deploys run on the cluster?" });
    for (const m of ENG_MARKERS) {
      expect(r.text).not.toContain(m);
    }
  });

  it("the stores treat an empty collection list as nothing, never as everything", async () => {
    const search = { generationId: core.runtime.current().generation.id, topK: 10, collections: [] as string[] };
    expect(await core.store.searchLexical("parental leave Quillfeather", search)).toEqual([]);
    const [v] = await core.runtime.current().embedder.embed(["parental leave"]);
    expect(await core.store.searchDense(v!, search)).toEqual([]);
  });

  it("the embedding cache holds vectors keyed by hashes, no text to return to anyone", async () => {
    const cols = await queryRows<{ column_name: string }>(
      core.database.db,
      sql`SELECT column_name FROM information_schema.columns WHERE table_name = 'embedding_cache' ORDER BY column_name`,
    );
    expect(cols.map((c) => c.column_name)).toEqual(["created_at", "embedder_key", "embedding", "text_hash"]);
  });
});

describe("limits: oversized and malformed requests get a clear 4xx", () => {
  const ask = (body: unknown, headers?: Record<string, string>) => call(app, "POST", "/ask", KEYS.eng, body, headers);

  it.each([
    ["malformed JSON", '{"question": ', 400, /not valid JSON/],
    ["an unknown field", { question: "deploys?", admin: true }, 400, /admin/],
    ["an empty question", { question: "   " }, 400, /must not be empty/],
    ["a question over MAX_QUESTION_CHARS", { question: "x".repeat(2001) }, 400, /at most 2000 characters/],
    ["topK 0", { question: "deploys?", topK: 0 }, 400, /topK/],
    ["topK over 50", { question: "deploys?", topK: 51 }, 400, /topK/],
    ["a token budget under 64", { question: "deploys?", maxContextTokens: 63 }, 400, /maxContextTokens/],
    ["a token budget over 128000", { question: "deploys?", maxContextTokens: 128_001 }, 400, /maxContextTokens/],
    ["a body over MAX_BODY_BYTES", { question: "x".repeat(70_000) }, 413, /larger than 65536 bytes/],
  ])("%s", async (_name, body, status, message) => {
    const r = await ask(body);
    expect(r.status).toBe(status);
    expect(r.json.error.message).toMatch(message);
    expect(r.json.error.requestId).toBeTruthy();
  });

  it("a body not sent as JSON is refused, and an anonymous oversized body is refused before it is read", async () => {
    expect((await ask("question=deploys", { "content-type": "text/plain" })).status).toBe(400);
    const anon = await call(app, "POST", "/ask", undefined, { question: "x".repeat(70_000) });
    expect(anon.status).toBe(401);
  });

  it("the token budget holds: a 64-token budget sends at most 64 tokens of sources", async () => {
    const r = await ask({ question: "When do production deploys run?", maxContextTokens: 64 });
    expect(r.status).toBe(200);
    expect(r.json.usage.contextBudget).toBe(64);
    expect(r.json.usage.contextTokens).toBeLessThanOrEqual(64);
  });

  it("nothing is rendered as HTML: an echoed <script> comes back as JSON that browsers must not sniff", async () => {
    const r = await call(app, "GET", "/<script>alert(1)</script>", KEYS.eng);
    expect(r.status).toBe(404);
    expect(r.headers.get("content-type")).toMatch(/^application\/json/);
    expect(r.headers.get("x-content-type-options")).toBe("nosniff");
    expect(r.headers.get("content-security-policy")).toContain("default-src 'none'");
  });
});

describe("rate limiting", () => {
  it("answers 429 rate_limited with Retry-After once a key's bucket is empty; other keys are not affected", async () => {
    const limited = appWith({ RATE_LIMIT_PER_MINUTE: 2 });
    expect((await call(limited, "GET", "/documents", KEYS.eng)).status).toBe(200);
    expect((await call(limited, "GET", "/status", KEYS.eng)).status).toBe(200);
    const third = await call(limited, "POST", "/ask", KEYS.eng, { question: "deploys?" });
    expect(third.status).toBe(429);
    expect(third.json.error.code).toBe("rate_limited");
    expect(Number(third.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect((await call(limited, "GET", "/documents", KEYS.hr)).status).toBe(200);
    // Health checks are never counted.
    expect((await call(limited, "GET", "/healthz", KEYS.eng)).status).toBe(200);
  });

  it("guessing keys is throttled per client: after 30 unknown keys a minute, 429 instead of 401", async () => {
    const fresh = appWith({});
    const statuses: number[] = [];
    for (let i = 0; i < 31; i++) {
      statuses.push((await call(fresh, "GET", "/documents", "guessed-key-0123456789abcdef")).status);
    }
    expect(statuses.slice(0, 30).every((s) => s === 401)).toBe(true);
    expect(statuses[30]).toBe(429);
    // A valid key from the same client still works: only failures are counted.
    expect((await call(fresh, "GET", "/documents", KEYS.eng)).status).toBe(200);
  });

  it("with authentication off it limits per client only when RATE_LIMIT_PER_MINUTE is set", async () => {
    // This database has keys by now; authentication off is what createAuthenticator answers without any.
    const noKeys = { resolve: async () => ({ principal: OPEN_PRINCIPAL }) };
    const limited = appWith({ API_KEYS: undefined, RATE_LIMIT_PER_MINUTE: 1 }, { auth: noKeys });
    expect((await call(limited, "GET", "/documents")).status).toBe(200);
    expect((await call(limited, "GET", "/documents")).status).toBe(429);
    const unlimited = appWith({ API_KEYS: undefined }, { auth: noKeys });
    for (let i = 0; i < 5; i++) {
      expect((await call(unlimited, "GET", "/documents")).status).toBe(200);
    }
  });
});

describe("PII", () => {
  it("answers keep personal data unless PII_MASK_ANSWERS is set; the query log masks it always", async () => {
    const question = "Where do payroll questions go? My card is 4111 1111 1111 1111.";
    const plain = await call(app, "POST", "/ask", KEYS.hr, { question });
    expect(plain.status).toBe(200);
    expect(plain.json.answer).toContain("payroll.lead@example.com");
    expect(plain.json.guard.piiMasked).toBe(0);

    const masking = appWith({ PII_MASK_ANSWERS: true });
    const masked = await call(masking, "POST", "/ask", KEYS.hr, { question });
    expect(masked.json.answer).toContain("[EMAIL]");
    expect(masked.json.answer).toContain("[PHONE]");
    expect(masked.text).not.toContain("payroll.lead@example.com");
    expect(masked.text).not.toContain("7946 0958");
    expect(masked.json.guard.piiMasked).toBeGreaterThan(0);
    const streamed = await call(masking, "POST", "/ask", KEYS.hr, { question, stream: true });
    expect(streamed.text).toContain("[EMAIL]");
    expect(streamed.text).not.toContain("payroll.lead@example.com");

    const logged = await queryRows<{ question: string; answer: string; citations: unknown; verification: unknown }>(
      core.database.db,
      sql`SELECT question, answer, citations, verification FROM query_log WHERE id = ${plain.json.queryId}::uuid`,
    );
    const row = JSON.stringify(logged[0]);
    expect(logged[0]!.question).toBe("Where do payroll questions go? My card is [CARD].");
    expect(row).toContain("[EMAIL]");
    expect(row).not.toContain("payroll.lead@example.com");
    expect(row).not.toContain("4111");
  });

  it("PII_MASK_INGEST masks before chunking and embedding; without it, ingested text is kept as written", async () => {
    core.maskPiiOnIngest = true;
    try {
      writeFileSync(
        join(hrDir, "cards.md"),
        "# Corporate cards\n\nThe travel card 4111 1111 1111 1111 belongs to ops.lead@example.com.\n",
      );
      const doc = await waitFor(async () =>
        (await core.catalog.allDocuments()).find((d) => d.path === "cards.md" && d.status === "indexed"),
      );
      const chunks = await queryRows<{ text: string; start_offset: number; end_offset: number }>(
        core.database.db,
        sql`SELECT * FROM chunks WHERE document_id = ${doc.id}::uuid`,
      );
      const text = chunks.map((c) => c.text).join("\n");
      expect(text).toContain("The travel card [CARD] belongs to [EMAIL].");
      expect(text).not.toContain("4111");
    } finally {
      core.maskPiiOnIngest = false;
    }
    const hrDoc = (await core.catalog.allDocuments()).find((d) => d.path === "salaries.md")!;
    const kept = await queryRows<{ text: string }>(
      core.database.db,
      sql`SELECT text FROM chunks WHERE document_id = ${hrDoc.id}::uuid`,
    );
    expect(kept.map((c) => c.text).join("\n")).toContain("payroll.lead@example.com");
  });
});

describe("admin", () => {
  it("an admin key for every collection may re-index", async () => {
    const r = await call(app, "POST", "/admin/reindex", KEYS.ops);
    expect(r.status).toBe(202);
    await waitFor(async () => (await core.catalog.liveGenerations()).building === undefined, 60_000);
  });
});
