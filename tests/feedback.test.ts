import { randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queryRows } from "../pipelines/store/database.js";
import type { CoreDeps } from "../services/common/deps.js";
import { makeCore } from "./support/core.js";
import { startPipeline } from "./support/pipeline.js";
import { tempDir } from "./support/temp-dir.js";

let core: CoreDeps;
let cleanup: () => Promise<void>;
let pipeline: Awaited<ReturnType<typeof startPipeline>>;
let dir: string;
let queryId: string;

const post = async (body: unknown, contentType = "application/json") => {
  const res = await pipeline.app.request("/feedback", {
    method: "POST",
    headers: { "content-type": contentType },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
};

beforeAll(async () => {
  dir = tempDir("rag-feedback-");
  writeFileSync(join(dir, "tea.md"), "# Tea\n\nGreen tea is steeped at about 80 degrees Celsius for two minutes.\n");
  ({ core, cleanup } = await makeCore("pglite"));
  pipeline = await startPipeline(core, [dir]);
  await pipeline.queue.idle();
  const answer = await pipeline.ask("At what temperature is green tea steeped?");
  expect(answer.status).toBe(200);
  queryId = answer.body.queryId;
});
afterAll(async () => {
  await pipeline.stop();
  await cleanup();
});

describe("POST /feedback", () => {
  it("stores ratings with the query they rate", async () => {
    const up = await post({ queryId, rating: 1, comment: "  exactly right  " });
    expect(up.status).toBe(201);
    expect(up.body).toMatchObject({ queryId, rating: 1 });
    expect(up.body.id).toBeGreaterThan(0);
    expect((await post({ queryId, rating: -1 })).status).toBe(201);
    const rows = await queryRows<{ rating: number; comment: string | null; question: string }>(
      core.database.db,
      sql`SELECT f.rating, f.comment, q.question FROM feedback f JOIN query_log q ON q.id = f.query_id ORDER BY f.id`,
    );
    expect(rows).toEqual([
      { rating: 1, comment: "exactly right", question: "At what temperature is green tea steeped?" },
      { rating: -1, comment: null, question: "At what temperature is green tea steeped?" },
    ]);
  });

  it("an unknown queryId → 404 not_found", async () => {
    const r = await post({ queryId: randomUUID(), rating: 1 });
    expect(r.status).toBe(404);
    expect(r.body.error).toMatchObject({ code: "not_found" });
    expect(r.body.error.requestId).toMatch(/\S/);
  });

  it.each([
    ["rating 0", () => ({ queryId, rating: 0 }), /rating/],
    ["rating 5", () => ({ queryId, rating: 5 }), /rating/],
    ["rating as a string", () => ({ queryId, rating: "1" }), /rating/],
    ["a missing rating", () => ({ queryId }), /rating/],
    ["a missing queryId", () => ({ rating: 1 }), /queryId/],
    ["a malformed queryId", () => ({ queryId: "q-1", rating: 1 }), /queryId/],
    ["a comment over 2000 characters", () => ({ queryId, rating: 1, comment: "x".repeat(2001) }), /comment/],
    ["an unknown field", () => ({ queryId, rating: 1, stars: 4 }), /stars/],
    ["an array", () => [], /expected object/i],
  ])("%s → 400 invalid_request", async (_name, body, message) => {
    const r = await post(body());
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe("invalid_request");
    expect(r.body.error.message).toMatch(message);
  });

  it("a body that is not JSON → 400", async () => {
    expect((await post('{"queryId":', "application/json")).body.error.message).toMatch(/not valid JSON/);
    expect((await post("rating=1", "application/x-www-form-urlencoded")).status).toBe(400);
  });
});
