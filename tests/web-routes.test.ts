import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../services/api/app.js";
import type { ApiConfig } from "../services/api/context.js";
import { APP_CSP } from "../services/api/routes/web.js";
import { parseApiKeys } from "../services/common/api-keys.js";
import { apiConfig, indexedFolder, type IndexedFolder } from "./support/pipeline.js";
import { tempDir } from "./support/temp-dir.js";

const ADMIN = "k_admin_0123456789abcdef";
const MAIN = "k_main_0123456789abcdefg";
const OTHER = "k_other_0123456789abcdef";
const API_KEYS = parseApiKeys(`${ADMIN}:ask,ingest,admin:*;${MAIN}:ask:default;${OTHER}:ask:other`);

const MD =
  "# Tides\n\n## Springs\n\nSpring tides happen twice a month, at new and full moon, when the sun and moon pull together.\n";
const HTML =
  "<html><body><h1>Kelp</h1><p>Giant kelp grows up to half a metre a day in cold water.</p><script>alert(1)</script></body></html>";

describe("web app routes", () => {
  let folder: IndexedFolder;
  let reports: string;
  // An empty build folder of its own: the first request for the page builds the app there.
  const webDir = tempDir("rag-web-dist-");
  const app = (config: Partial<ApiConfig> = {}) =>
    createApp({ ...folder.pipeline.deps, metrics: undefined, webDir, config: { ...apiConfig, API_KEYS, ...config } });
  const get = (path: string, key?: string, config?: Partial<ApiConfig>) =>
    app(config).request(path, { headers: key ? { authorization: `Bearer ${key}` } : {} });
  // Response bodies are read loosely: the assertions below say what they must hold.
  const json = async (res: Response | Promise<Response>): Promise<any> => (await res).json();
  const docId = async (path: string) => {
    const res = await get("/documents", ADMIN);
    return ((await res.json()) as { documents: Array<{ id: string; path: string }> }).documents.find(
      (d) => d.path === path,
    )!.id;
  };

  beforeAll(async () => {
    folder = await indexedFolder({ "tides.md": MD, "kelp.html": HTML });
    reports = tempDir("rag-reports-");
    writeFileSync(
      join(reports, "docs.json"),
      JSON.stringify({
        kind: "suite",
        name: "docs",
        date: "2026-01-02T00:00:00Z",
        commit: "abc",
        settings: { k: 10 },
        figures: { "recall@10": 0.9, note: "x" },
      }),
    );
    writeFileSync(
      join(reports, "old.json"),
      JSON.stringify({ kind: "beir", name: "old", date: "2025-01-02T00:00:00Z", figures: { "ndcg@10": 0.7 } }),
    );
    writeFileSync(join(reports, "broken.json"), "{ not json");
    writeFileSync(join(reports, "notes.md"), "# not a report");
  });
  afterAll(async () => {
    await folder.close();
  });

  it("builds the app on the first request when its folder has none, then serves it without a key under the app's policy", async () => {
    expect(existsSync(join(webDir, "index.html"))).toBe(false);
    const page = await get("/");
    expect(existsSync(join(webDir, "main.js"))).toBe(true);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    expect(page.headers.get("content-security-policy")).toBe(APP_CSP);
    const html = await page.text();
    expect(html).toContain('<script type="module" src="/app/main.js"></script>');
    const js = await get("/app/main.js");
    expect(js.status).toBe(200);
    expect(js.headers.get("content-type")).toMatch(/^text\/javascript/);
    expect((await get("/app/nothing.js")).status).toBe(404);
    // Not an asset name: the public rule does not match, so it needs a key like any unknown path.
    expect((await get("/app/..%2Fbuild.ts")).status).toBe(401);
    expect((await get("/app/main.ts")).status).toBe(401);
    // API responses keep the policy that allows nothing.
    expect((await get("/status", ADMIN)).headers.get("content-security-policy")).toBe(
      "default-src 'none'; frame-ancestors 'none'",
    );
  });

  it("GET /whoami says what the key may read and whether it may re-index", async () => {
    expect((await get("/whoami")).status).toBe(401);
    const main = await json(get("/whoami", MAIN));
    expect(main).toMatchObject({
      authentication: true,
      scopes: ["ask"],
      collections: ["default"],
      allCollections: false,
      admin: false,
    });
    const admin = await json(get("/whoami", ADMIN));
    expect(admin).toMatchObject({ authentication: true, collections: ["default"], allCollections: true, admin: true });
    const open = await json(get("/whoami", undefined, { API_KEYS: undefined }));
    expect(open).toMatchObject({ authentication: false, keyId: null, admin: true });
  });

  it("GET /documents/:id/content serves the file as text, never as a page, to a key of its collection only", async () => {
    const kelp = await docId("kelp.html");
    const raw = await get(`/documents/${kelp}/content`, MAIN);
    expect(raw.status).toBe(200);
    expect(raw.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(raw.headers.get("content-security-policy")).toMatch(/^sandbox; default-src 'none'/);
    expect(raw.headers.get("x-content-type-options")).toBe("nosniff");
    expect(await raw.text()).toBe(HTML);
    // Another tenant's document, a malformed id, an unknown one: all the same 404.
    for (const [path, key] of [
      [`/documents/${kelp}/content`, OTHER],
      [`/documents/${kelp}/content?view=text`, OTHER],
      ["/documents/nope/content", MAIN],
      [`/documents/${crypto.randomUUID()}/content`, MAIN],
    ] as const) {
      const res = await get(path, key);
      expect(res.status).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("not_found");
    }
    expect((await get(`/documents/${kelp}/content`)).status).toBe(401);
    expect((await get(`/documents/${kelp}/content?view=html`, MAIN)).status).toBe(400);
  });

  it("view=text gives the parsed text whose offsets the chunks carry, so a citation can be highlighted", async () => {
    const tides = await docId("tides.md");
    const body = (await json(get(`/documents/${tides}/content?view=text`, MAIN))) as {
      text: string;
      format: string;
      changed: boolean;
      chunks: Array<{ id: string; start: number; end: number; headingPath: string[] }>;
    };
    expect(body).toMatchObject({ format: "markdown", changed: false, text: MD });
    expect(body.chunks.length).toBeGreaterThan(0);
    const spring = body.chunks.find((c) =>
      body.text.slice(c.start, c.end).includes("Spring tides happen twice a month"),
    );
    expect(spring?.headingPath).toEqual(["Tides", "Springs"]);
    // The ids are those citations carry.
    const asked = await folder.pipeline.ask("How often do spring tides happen?");
    expect(body.chunks.map((c) => c.id)).toContain(asked.body.citations[0].chunkId);

    // After an edit on disk the viewer is told its offsets may be off until the file is indexed again.
    writeFileSync(join(folder.dir, "tides.md"), `${MD}\nNeap tides fall between them.\n`);
    const changed = await json(get(`/documents/${tides}/content?view=text`, MAIN));
    expect(changed.changed).toBe(true);
    writeFileSync(join(folder.dir, "tides.md"), MD);
  });

  it("with PII_MASK_INGEST the file itself is not served, only its masked text", async () => {
    const kelp = await docId("kelp.html");
    const masked = createApp({
      ...folder.pipeline.deps,
      metrics: undefined,
      webDir,
      core: { ...folder.core, maskPiiOnIngest: true },
      config: { ...apiConfig, API_KEYS },
    });
    const raw = await masked.request(`/documents/${kelp}/content`, { headers: { authorization: `Bearer ${MAIN}` } });
    expect(raw.status).toBe(403);
    const text = await masked.request(`/documents/${kelp}/content?view=text`, {
      headers: { authorization: `Bearer ${MAIN}` },
    });
    expect(text.status).toBe(200);
    expect((await json(text)).text).toContain("Giant kelp");
  });

  it("GET /quality/series and /quality/recent bucket and list the answers of the key's collections, with feedback", async () => {
    const a = await folder.pipeline.ask("How fast does giant kelp grow?");
    await folder.pipeline.ask("When do spring tides happen?");
    const fb = await app().request("/feedback", {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
      body: JSON.stringify({ queryId: a.body.queryId, rating: -1, comment: "too short" }),
    });
    expect(fb.status).toBe(201);
    // These asks had no key (the pipeline's own app): they drew from every collection, so only `*` keys see them.
    const series = (await json(get("/quality/series?since=24h&bucket=1h", ADMIN))) as {
      bucketSeconds: number;
      buckets: Array<{ queries: number; faithfulness: number | null; latencyP95Ms: number | null }>;
    };
    expect(series.bucketSeconds).toBe(3600);
    expect(series.buckets.reduce((n, b) => n + b.queries, 0)).toBeGreaterThanOrEqual(2);
    expect(series.buckets.at(-1)!.latencyP95Ms).toBeGreaterThan(0);
    const auto = await json(get("/quality/series?since=7d", ADMIN));
    expect(auto.bucketSeconds).toBe(3 * 3600);
    const recent = (await json(get("/quality/recent?limit=5", ADMIN))) as {
      queries: Array<{ id: string; question: string; feedback: { down: number; lastComment: string | null } }>;
    };
    expect(recent.queries[0]!.question).toBe("When do spring tides happen?");
    const rated = recent.queries.find((q) => q.id === a.body.queryId)!;
    expect(rated.feedback).toEqual({ up: 0, down: 1, lastComment: "too short" });
    expect((await json(get("/quality/recent?limit=1", ADMIN))).queries).toHaveLength(1);
    // A key scoped to other collections sees none of them.
    expect((await json(get("/quality/recent", OTHER))).queries).toEqual([]);
    expect((await json(get("/quality/series", OTHER))).buckets).toEqual([]);
    expect((await get("/quality/recent?collection=default", OTHER)).status).toBe(404);
  });

  it("rejects bad series and list parameters with the reason", async () => {
    for (const [path, message] of [
      ["/quality/series?bucket=0m", "bucket"],
      ["/quality/series?bucket=soon", "bucket must be a duration"],
      ["/quality/series?since=30d&bucket=1m", "more than 2000"],
      ["/quality/series?limit=3", "limit"],
      ["/quality/recent?limit=0", "limit"],
      ["/quality/recent?bucket=1h", "bucket"],
      ["/quality/recent?since=yesterday", "since must be"],
    ] as const) {
      const res = await get(path, ADMIN);
      expect(res.status, path).toBe(400);
      expect(((await res.json()) as { error: { message: string } }).error.message, path).toContain(message);
    }
  });

  it("GET /quality/evals lists the eval reports newest first, and names files that are not reports", async () => {
    const body = await json(get("/quality/evals", MAIN, { EVAL_REPORTS_DIR: reports }));
    expect(body.reports.map((r: { name: string }) => r.name)).toEqual(["docs", "old"]);
    expect(body.reports[0]).toMatchObject({
      kind: "suite",
      commit: "abc",
      settings: { k: 10 },
      figures: { "recall@10": 0.9 },
    });
    expect(body.unreadable).toHaveLength(1);
    expect(body.unreadable[0].file).toBe("broken.json");
    const none = await json(get("/quality/evals", MAIN, { EVAL_REPORTS_DIR: join(reports, "missing") }));
    expect(none).toEqual({ reports: [], unreadable: [] });
  });
});
