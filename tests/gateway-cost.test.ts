import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { billedTokens, createPriceTable, DEFAULT_PRICES } from "../pipelines/cost/prices.js";
import { createGenerator } from "../pipelines/generate/index.js";
import { queryRows } from "../pipelines/store/database.js";
import { budgetDay } from "../pipelines/store/spend-queries.js";
import { createApp } from "../services/api/app.js";
import type { ApiConfig } from "../services/api/context.js";
import { runKeysCommand } from "../services/cli/keys-command.js";
import { parseApiKeys } from "../services/common/api-keys.js";
import { parseConfig } from "../services/common/config.js";
import { ApiConfigSchema } from "../services/api/config.js";
import { KEEPERS, LIGHTHOUSE, sourceNumber } from "./support/answer-fixtures.js";
import { chatReply, startScriptedServer, userPrompt, type ScriptedServer } from "./support/openai-server.js";
import { apiConfig, indexedFolder, type IndexedFolder } from "./support/pipeline.js";
import { ask as askApi, askError } from "./support/ask.js";

const KEY = "cost-key-0123456789abcdef";
const API_KEYS = parseApiKeys(`${KEY}:ask,admin:*`);
const QUESTION = "When was the Skerryvore lens installed?";
// The scripted server reports 100 prompt tokens and one completion token per word.
const ANSWER = (body: any) => `The lens was installed in 1844 [${sourceNumber(userPrompt(body), "lighthouse.txt")}].`;
const COMPLETION = 7;

let folder: IndexedFolder;
let server: ScriptedServer;

beforeAll(async () => {
  folder = await indexedFolder({ "lighthouse.txt": `${LIGHTHOUSE}\n`, "keepers.txt": `${KEEPERS}\n` }, "rag-cost-");
  server = await startScriptedServer([]);
});
afterAll(async () => {
  await server.close();
  await folder.close();
});

async function appWith(config: Partial<ApiConfig>, model = "gpt-4o-mini") {
  const generator = await createGenerator({
    GENERATOR: "openai",
    LLM_BASE_URL: server.url,
    LLM_MODEL: model,
    LLM_MAX_ATTEMPTS: 1,
  });
  return createApp({
    ...folder.pipeline.deps,
    metrics: undefined,
    generator,
    config: { ...apiConfig, API_KEYS, ...config },
  });
}
// Each call scripts one chat reply, consumed only when the query is not refused first.
async function ask(app: ReturnType<typeof createApp>, key = KEY) {
  server.script([chatReply(ANSWER)]);
  return askApi(app, { question: QUESTION, topK: 2 }, { key });
}
async function askRefused(app: ReturnType<typeof createApp>, key = KEY) {
  server.script([chatReply(ANSWER)]);
  return askError(app, { question: QUESTION, topK: 2 }, { key });
}
const get = async (app: ReturnType<typeof createApp>, path: string) =>
  app.request(path, { headers: { authorization: `Bearer ${KEY}` } });

describe("the price table", () => {
  it("prices per million input and output tokens, matches dated model names, and costs 0 for local generators", () => {
    const prices = createPriceTable();
    expect(prices.cost("gpt-4o-mini", 1_000_000, 1_000_000)).toEqual({ usd: 0.75, priced: true });
    expect(prices.priceOf("gpt-4o-2024-08-06")?.model).toBe("gpt-4o");
    expect(prices.priceOf("gpt-4o-mini-2024-07-18")?.model).toBe("gpt-4o-mini");
    expect(prices.cost("extractive", 5000, 500).usd).toBe(0);
    expect(prices.cost("some-local-model", 5000, 500)).toEqual({ usd: 0, priced: false });
    const custom = createPriceTable(
      { "some-local-model": { input: 1, output: 2 } },
      { "gpt-4o-mini": { input: 10, output: 10 } },
    );
    expect(custom.cost("some-local-model", 1_000_000, 500_000).usd).toBe(2);
    expect(custom.cost("gpt-4o-mini", 100_000, 0).usd).toBe(1);
    expect(DEFAULT_PRICES["gpt-4o-mini"]).toEqual({ input: 0.15, output: 0.6 });
    expect(
      billedTokens({ usage: { contextTokens: 50, answerTokens: 5, promptTokens: 70 }, cache: { hit: true } }),
    ).toEqual({ input: 0, output: 0 });
  });

  it("PRICES_JSON and PRICES_FILE are checked when the configuration is read", () => {
    expect(() => parseConfig(ApiConfigSchema, { PRICES_JSON: '{"m": {"input": -1, "output": 1}}' })).toThrow(
      /PRICES_JSON/,
    );
    expect(() => parseConfig(ApiConfigSchema, { PRICES_JSON: "not json" })).toThrow(/PRICES_JSON/);
    expect(() => parseConfig(ApiConfigSchema, { PRICES_FILE: "/nonexistent/prices.json" })).toThrow(/PRICES_FILE/);
    const ok = parseConfig(ApiConfigSchema, { PRICES_JSON: '{"m": {"input": 1, "output": 2}}' });
    expect(ok.PRICES_JSON).toEqual({ m: { input: 1, output: 2 } });
  });
});

describe("cost per query", () => {
  it("usage.costUsd follows the tokens; the query log, GET /quality and the Prometheus counter sum the same", async () => {
    const app = await appWith({ PRICES_JSON: { "priced-model": { input: 3, output: 15 } } }, "priced-model");
    const costs: number[] = [];
    for (let i = 0; i < 3; i++) {
      const { status, body } = await ask(app);
      expect(status).toBe(200);
      expect(body.usage.promptTokens).toBe(100);
      expect(body.usage.completionTokens).toBe(COMPLETION);
      expect(body.usage.costUsd).toBeCloseTo((100 * 3 + COMPLETION * 15) / 1e6, 10);
      expect(body.promptVersion).toBe("answer/v1");
      costs.push(body.usage.costUsd ?? Number.NaN); // checked just above
    }
    const quality = (await (await get(app, "/quality")).json()) as any;
    const mine = quality.cost.rows.filter((r: { keyId: string | null }) => r.keyId === API_KEYS[0]!.id);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({
      day: budgetDay(new Date()).day,
      queries: 3,
      inputTokens: 300,
      outputTokens: 3 * COMPLETION,
    });
    expect(mine[0].costUsd).toBeCloseTo(
      costs.reduce((a, b) => a + b, 0),
      10,
    );
    const metrics = await (await get(app, "/metrics")).text();
    const counted = Number(/rag_ask_cost_usd_total\{model="priced-model"\} (\S+)/.exec(metrics)?.[1]);
    expect(counted).toBeCloseTo(
      costs.reduce((a, b) => a + b, 0),
      10,
    );
    expect(metrics).toMatch(/rag_ask_billed_tokens_total\{model="priced-model",kind="input"\} 300/);
    const logged = await queryRows<{ prompt_version: string; usd: number }>(
      folder.core.database.db,
      sql`SELECT prompt_version, (usage->>'costUsd')::float8 AS usd FROM query_log WHERE api_key_id = ${API_KEYS[0]!.id} ORDER BY created_at DESC LIMIT 3`,
    );
    expect(logged.map((r) => r.prompt_version)).toEqual(["answer/v1", "answer/v1", "answer/v1"]);
    expect(logged.reduce((a, r) => a + Number(r.usd), 0)).toBeCloseTo(
      costs.reduce((a, b) => a + b, 0),
      10,
    );
  });
});

describe("daily budgets", () => {
  it("a key over its daily token budget gets 429 budget_exceeded until the UTC day ends", async () => {
    await folder.core.database.db.execute(sql`DELETE FROM key_spend`);
    const app = await appWith({ BUDGET_DAILY_TOKENS: 150 });
    expect((await ask(app)).status).toBe(200); // 107 tokens: under budget before it ran
    expect((await ask(app)).status).toBe(200); // 214 after this one: a query is never cut off midway
    const blocked = await askRefused(app);
    expect(blocked.status).toBe(429);
    expect(blocked.body.error.code).toBe("budget_exceeded");
    const { resetsAt } = budgetDay(new Date());
    expect((blocked.body.error.details as { resetsAt: string }).resetsAt).toBe(resetsAt.toISOString());
    expect(blocked.body.error.message).toContain(resetsAt.toISOString());
    const retryAfter = Number(blocked.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(86_400);
    // Shared in the database: another app (another API process) on the same database is blocked too.
    expect((await askRefused(await appWith({ BUDGET_DAILY_TOKENS: 150 }))).status).toBe(429);
    // The day ends: yesterday's spend no longer counts.
    await folder.core.database.db.execute(sql`UPDATE key_spend SET day = day - 1`);
    expect((await ask(app)).status).toBe(200);
  });

  it("a USD budget, and a per-key budget set with npm run keys -- budget, override the default", async () => {
    await folder.core.database.db.execute(sql`DELETE FROM key_spend`);
    const lines: string[] = [];
    await runKeysCommand(["add", "--name", "tenant", "--scopes", "ask"], folder.core.database.db, (l) => lines.push(l));
    const id = lines.find((l) => l.startsWith("id:"))!.split(/\s+/)[1]!;
    const key = lines.find((l) => l.startsWith("key:"))!.split(/\s+/)[1]!;
    await expect(runKeysCommand(["budget", id, "--usd", "-1"], folder.core.database.db, () => {})).rejects.toThrow(
      /--usd/,
    );
    await expect(
      runKeysCommand(["budget", "key_nope", "--usd", "1"], folder.core.database.db, () => {}),
    ).rejects.toThrow(/no key/);
    await runKeysCommand(["budget", id, "--usd", "0.00001"], folder.core.database.db, () => {});
    const app = await appWith({ BUDGET_DAILY_USD: 100 });
    expect((await ask(app, key)).status).toBe(200); // gpt-4o-mini: 100·0.15 + 7·0.6 per million = $0.0000192
    const blocked = await askRefused(app, key);
    expect(blocked.status).toBe(429);
    expect(blocked.body.error.message).toMatch(/\$0\.0000\d+ of \$0\.00001/);
    // The default budget still allows the other key.
    expect((await ask(app)).status).toBe(200);
    await runKeysCommand(["budget", id, "--usd", "none"], folder.core.database.db, () => {});
    expect((await ask(app, key)).status).toBe(200);
  });
});
