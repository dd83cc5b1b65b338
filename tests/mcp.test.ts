import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "./support/process.js";
import { waitFor } from "./support/pipeline.js";
import { HR_FILES, HR_MARKERS, LIGHTHOUSES, TENANT_KEYS, twoTenants, type TwoTenants } from "./support/tenants.js";
import { tempDir } from "./support/temp-dir.js";

const TOOLS = ["ask", "get_document", "index_status", "list_collections", "search"];
const DESIGNED = "Who designed the Skerryvore lighthouse?";

async function call(client: Client, name: string, args: Record<string, unknown> = {}) {
  return (await client.callTool({ name, arguments: args })) as CallToolResult & { structuredContent: any };
}
const leaks = (r: unknown) => HR_MARKERS.filter((m) => JSON.stringify(r).includes(m));

/** The checks every transport must pass: the tools, answers, and a sea key kept out of hr. */
async function exerciseTools(sea: Client, hrDocumentId: string) {
  const { tools } = await sea.listTools();
  expect(tools.map((t) => t.name).sort()).toEqual(TOOLS);
  const search = tools.find((t) => t.name === "search")!;
  expect(Object.keys(search.inputSchema.properties ?? {}).sort()).toEqual(["collection", "query", "topK"]);
  expect((search.inputSchema.properties as any).query.description).toMatch(/look for/);

  const found = await call(sea, "search", { query: DESIGNED, collection: "sea", topK: 3 });
  expect(found.isError).toBeFalsy();
  const passages = found.structuredContent.passages;
  expect(passages.length).toBeGreaterThan(0);
  expect(passages.length).toBeLessThanOrEqual(3);
  expect(passages[0]).toMatchObject({ path: "skerryvore.md", page: null, collection: "sea" });
  expect(passages[0].snippet).toContain("Alan Stevenson");
  expect(typeof passages[0].score).toBe("number");
  expect(passages[0].documentId).toMatch(/^[0-9a-f-]{36}$/);

  const asked = await call(sea, "ask", { question: DESIGNED });
  expect(asked.isError).toBeFalsy();
  expect(asked.structuredContent.abstained).toBe(false);
  expect(asked.structuredContent.answer).toContain("Alan Stevenson");
  expect(asked.structuredContent.citations.map((c: any) => c.path)).toEqual(["skerryvore.md"]);
  expect((asked.content[0] as { text: string }).text).toMatch(/Sources:\n\[1\] skerryvore\.md/);

  const followUp = await call(sea, "ask", {
    question: "And when was it completed?",
    history: [{ role: "user", content: DESIGNED }],
  });
  expect(followUp.structuredContent.rewrittenQuestion).toBe("When was the Skerryvore lighthouse completed?");
  expect(followUp.structuredContent.answer).toContain("1844");

  const doc = await call(sea, "get_document", { id: passages[0].documentId });
  expect(doc.structuredContent.document).toMatchObject({
    path: "skerryvore.md",
    collection: "sea",
    status: "indexed",
    truncated: false,
  });
  expect(doc.structuredContent.document.text).toContain("Alan Stevenson designed the Skerryvore lighthouse");

  const collections = await call(sea, "list_collections");
  expect(collections.structuredContent.collections.map((c: any) => c.name)).toEqual(["sea"]);
  const status = await call(sea, "index_status");
  expect(status.structuredContent.status.documents.indexed).toBe(2);

  // Tenancy through every tool: the hr collection, its text and its document are out of reach.
  const refused = await call(sea, "search", { query: "parental leave", collection: "hr" });
  expect(refused.isError).toBe(true);
  expect((refused.content[0] as { text: string }).text).toMatch(
    /^not_found: No collection "hr"; this key may use: sea\.$/,
  );
  const refusedAsk = await call(sea, "ask", { question: "How long is parental leave?", collection: "hr" });
  expect(refusedAsk.isError).toBe(true);
  const typo = await call(sea, "search", { query: "lighthouse", collection: "seas" });
  expect((typo.content[0] as { text: string }).text).toMatch(/this key may use: sea\./);
  for (const r of [
    await call(sea, "search", { query: "parental leave Quillfeather people team", topK: 50 }),
    await call(sea, "ask", { question: "How long is parental leave, and who approves it?" }),
    refused,
    refusedAsk,
    collections,
    status,
  ]) {
    expect(leaks(r)).toEqual([]);
  }
  const otherDoc = await call(sea, "get_document", { id: hrDocumentId });
  expect(otherDoc.isError).toBe(true);
  expect((otherDoc.content[0] as { text: string }).text).toMatch(/^not_found: No document/);
  expect(leaks(otherDoc)).toEqual([]);
}

describe("MCP over Streamable HTTP at /mcp (the SDK's Client, the app on a loopback port)", () => {
  let tenants: TwoTenants;
  let url: string;
  const clients: Client[] = [];
  const connect = async (key: string) => {
    const client = new Client({ name: "rag-test", version: "1.0.0" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${url}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${key}` } },
      }),
    );
    clients.push(client);
    return client;
  };
  beforeAll(async () => {
    tenants = await twoTenants();
    ({ url } = await tenants.serve());
  }, 180_000);
  afterAll(async () => {
    for (const c of clients) {
      await c.close();
    }
    await tenants.close();
  });

  it("lists the tools; search, ask, get_document, list_collections and index_status answer; a sea key reaches nothing of hr", async () => {
    const all = await connect(TENANT_KEYS.all);
    const hrDoc = (await call(all, "search", { query: "parental leave", collection: "hr", topK: 1 })).structuredContent
      .passages[0];
    expect(hrDoc.path).toBe("leave.md");
    expect((await call(all, "list_collections")).structuredContent.collections.map((c: any) => c.name)).toEqual([
      "hr",
      "sea",
    ]);
    await exerciseTools(await connect(TENANT_KEYS.sea), hrDoc.documentId);
  }, 180_000);

  it("refuses a missing or unknown key with 401 before any tool runs; GET is 405 (stateless)", async () => {
    await expect(connect("no-such-key-0123456789abcdef")).rejects.toThrow(/401|not valid/);
    const raw = await fetch(`${url}/mcp`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(raw.status).toBe(401);
    const get = await fetch(`${url}/mcp`, { headers: { authorization: `Bearer ${TENANT_KEYS.sea}` } });
    expect(get.status).toBe(405);
    expect(get.headers.get("allow")).toBe("POST");
  });

  it("invalid tool input is refused by the zod schema, with the field named", async () => {
    const sea = await connect(TENANT_KEYS.sea);
    const bad = await call(sea, "search", { query: "", topK: 500 });
    expect(bad.isError).toBe(true);
    expect((bad.content[0] as { text: string }).text).toMatch(/query[\s\S]*topK|topK[\s\S]*query/);
  });
});

describe("MCP over stdio (npm run mcp's entry, spawned with a temp DATA_DIR and watched folders)", () => {
  const dataDir = tempDir("rag-mcp-data-");
  const seaDir = tempDir("rag-mcp-sea-");
  const hrDir = tempDir("rag-mcp-hr-");
  for (const [name, text] of Object.entries(LIGHTHOUSES)) {
    writeFileSync(join(seaDir, name), text);
  }
  for (const [name, text] of Object.entries(HR_FILES)) {
    writeFileSync(join(hrDir, name), text);
  }
  let stderr = "";
  let client: Client | undefined;

  /** `npm run mcp` as a desktop client starts it (tsx on services/mcp/main.ts), acting as `key`. */
  async function spawnMcp(key: string) {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: ["--import", "tsx", "services/mcp/main.ts"],
      cwd: ROOT,
      env: {
        ...(process.env as Record<string, string>),
        DATA_DIR: dataDir,
        WATCH_DIRS: `${seaDir}=sea,${hrDir}=hr`,
        API_KEYS: `${TENANT_KEYS.sea}:ask:sea;${TENANT_KEYS.all}:ask,admin:*`,
        MCP_API_KEY: key,
        LOG_LEVEL: "warn",
        EMBEDDING_THREADS: "1",
      },
      stderr: "pipe",
    });
    transport.stderr?.on("data", (d) => (stderr += d));
    client = new Client({ name: "rag-test", version: "1.0.0" });
    await client.connect(transport);
    return client;
  }
  afterAll(async () => {
    await client?.close();
  });

  it("indexes the watched folders, then serves the same tools with the same tenancy as the HTTP endpoint", async () => {
    // First as the operator's key: the child indexes both folders on start-up; note hr's document id.
    const all = await spawnMcp(TENANT_KEYS.all);
    await waitFor(
      async () => (await call(all, "index_status")).structuredContent?.status?.documents?.indexed === 3,
      120_000,
      250,
    );
    const hrDoc = (await call(all, "search", { query: "parental leave", collection: "hr", topK: 1 })).structuredContent
      .passages[0];
    expect(hrDoc.path).toBe("leave.md");
    // The client closing the session ends the process, which releases the PGlite lock on DATA_DIR.
    await all.close();

    const sea = await spawnMcp(TENANT_KEYS.sea);
    // Serving starts before the database is open: until then every tool says index_not_ready.
    const early = await call(sea, "list_collections");
    if (early.isError) {
      expect((early.content[0] as { text: string }).text).toMatch(/^index_not_ready:/);
    }
    await waitFor(async () => !(await call(sea, "index_status")).isError, 120_000, 250);
    await exerciseTools(sea, hrDoc.documentId);
    expect(stderr).not.toMatch(/"level":"error"/);
  }, 240_000);
});
