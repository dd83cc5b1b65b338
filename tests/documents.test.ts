import { createHash, randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeCore } from "./support/core.js";
import { startPipeline } from "./support/pipeline.js";
import type { CoreDeps } from "../services/common/deps.js";
import { tempDir } from "./support/temp-dir.js";

let core: CoreDeps;
let cleanup: () => Promise<void>;
let pipeline: Awaited<ReturnType<typeof startPipeline>>;
const dirs: string[] = [];
const files: Record<string, string> = {
  "a.md": "# Anvils\n\nA blacksmith's anvil is made of forged steel with a hardened face.\n",
  "b.md": "# Bellows\n\nBellows push air into the forge so the coal burns hotter.\n",
  "c.txt": "Charcoal was the fuel of early iron smelting furnaces.\n",
  "d.txt": "Damascus steel shows a pattern of bands from its layered structure.\n",
};

interface Doc {
  id: string;
  sourceId: string;
  path: string;
  status: string;
  collection: string;
  contentHash: string | null;
  errorCode: string | null;
  error: string | null;
}
interface Page {
  documents: Doc[];
  total: number;
  limit: number;
  offset: number;
  nextOffset: number | null;
}
const get = async (url: string) => {
  const res = await pipeline.app.request(url);
  return { status: res.status, body: (await res.json()) as any };
};

beforeAll(async () => {
  for (let i = 0; i < 2; i++) {
    dirs.push(tempDir(`rag-docs-${i}-`));
  }
  for (const [name, text] of Object.entries(files)) {
    writeFileSync(join(dirs[0]!, name), text);
  }
  writeFileSync(join(dirs[1]!, "other.md"), "# Tongs\n\nTongs hold the hot iron on the anvil.\n");
  writeFileSync(
    join(dirs[1]!, "broken.txt"),
    Uint8Array.from({ length: 3000 }, (_, i) => (i * 131) % 256),
  );
  ({ core, cleanup } = await makeCore("pglite"));
  pipeline = await startPipeline(core, dirs);
  await pipeline.queue.idle();
});
afterAll(async () => {
  await pipeline.stop();
  await cleanup();
});

describe("GET /documents", () => {
  it("pages through every document in a stable order", async () => {
    const seen: Doc[] = [];
    let offset: number | null = 0;
    let pages = 0;
    while (offset !== null) {
      const { status, body } = await get(`/documents?limit=2&offset=${offset}`);
      expect(status).toBe(200);
      const page = body as Page;
      expect(page.total).toBe(6);
      expect(page.documents.length).toBeLessThanOrEqual(2);
      seen.push(...page.documents);
      offset = page.nextOffset;
      pages++;
    }
    expect(pages).toBe(3);
    expect(new Set(seen.map((d) => d.id)).size).toBe(6);
    const sorted = [...seen].sort((x, y) => (x.sourceId + x.path < y.sourceId + y.path ? -1 : 1));
    expect(seen.map((d) => d.path)).toEqual(sorted.map((d) => d.path));
  });

  it("filters by status, source and collection", async () => {
    const failed = (await get("/documents?status=failed")).body as Page;
    expect(failed.total).toBe(1);
    expect(failed.documents[0]).toMatchObject({ path: "broken.txt", status: "failed", errorCode: "binary_content" });

    const sourceId = failed.documents[0]!.sourceId;
    const bySource = (await get(`/documents?source=${sourceId}`)).body as Page;
    expect(bySource.documents.map((d) => d.path).sort()).toEqual(["broken.txt", "other.md"]);
    const indexedInSource = (await get(`/documents?source=${sourceId}&status=indexed`)).body as Page;
    expect(indexedInSource.documents.map((d) => d.path)).toEqual(["other.md"]);

    expect(((await get("/documents?collection=default")).body as Page).total).toBe(6);
    expect((await get("/documents?collection=nowhere")).body as Page).toMatchObject({
      total: 0,
      documents: [],
      nextOffset: null,
    });
  });

  it.each([
    ["limit=0", /limit/],
    ["limit=201", /limit/],
    ["limit=ten", /limit/],
    ["offset=-1", /offset/],
    ["status=deleted", /status/],
    ["colour=red", /colour/],
  ])("?%s → 400 invalid_request", async (query, message) => {
    const { status, body } = await get(`/documents?${query}`);
    expect(status).toBe(400);
    expect(body.error.code).toBe("invalid_request");
    expect(body.error.requestId).toMatch(/\S/);
    expect(body.error.message).toMatch(message);
  });
});

describe("GET /documents/:id", () => {
  it("an indexed document: hash, times, chunk count and its version in the active generation", async () => {
    const list = (await get("/documents?status=indexed&limit=200")).body as Page;
    const a = list.documents.find((d) => d.path === "a.md")!;
    const { status, body } = await get(`/documents/${a.id}`);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      id: a.id,
      path: "a.md",
      root: dirs[0],
      status: "indexed",
      errorCode: null,
      error: null,
      pageCount: null,
    });
    expect(body.contentHash).toBe(createHash("sha256").update(files["a.md"]!).digest("hex"));
    expect(body.chunkCount).toBeGreaterThan(0);
    expect(new Date(body.indexedAt).getTime()).toBeGreaterThan(Date.now() - 60_000);
    expect(new Date(body.updatedAt).getTime()).toBeGreaterThanOrEqual(new Date(body.indexedAt).getTime());
    expect(body.versions).toEqual([
      {
        generationId: core.runtime.current().generation.id,
        generationStatus: "active",
        chunks: body.chunkCount,
        pages: null,
      },
    ]);
  });

  it("a failed document carries its failure code and reason", async () => {
    const failed = ((await get("/documents?status=failed")).body as Page).documents[0]!;
    const { status, body } = await get(`/documents/${failed.id}`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ status: "failed", errorCode: "binary_content", chunkCount: 0, versions: [] });
    expect(body.error).toMatch(/binary/);
  });

  it.each([
    ["an unknown id", randomUUID()],
    ["a malformed id", "not-a-uuid"],
    ["an injection attempt", "1'%20OR%20'1'='1"],
  ])("%s → 404 not_found", async (_name, id) => {
    const { status, body } = await get(`/documents/${id}`);
    expect(status).toBe(404);
    expect(body.error.code).toBe("not_found");
    expect(body.error.requestId).toMatch(/\S/);
  });
});
