import { sql } from "drizzle-orm";
import OpenAI, { AuthenticationError, BadRequestError, NotFoundError, RateLimitError } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queryRows } from "../pipelines/store/database.js";
import { CitationSchema } from "../schemas/api.js";
import { HR_MARKERS, TENANT_KEYS, twoTenants, type TwoTenants } from "./support/tenants.js";

// The real OpenAI SDK against the app listening on a loopback port: what a user's client sees.
let tenants: TwoTenants;
let url: string;
const client = (apiKey: string, base = url) => new OpenAI({ apiKey, baseURL: `${base}/v1`, maxRetries: 0 });
const Q1 = "When was the Skerryvore lighthouse completed?";

beforeAll(async () => {
  tenants = await twoTenants();
  ({ url } = await tenants.serve());
});
afterAll(async () => tenants.close());

describe("GET /v1/models through the OpenAI SDK", () => {
  it("lists the collections the key may read, each as a model id", async () => {
    const sea = [];
    for await (const m of client(TENANT_KEYS.sea).models.list()) {
      sea.push(m);
    }
    expect(sea.map((m) => m.id)).toEqual(["sea"]);
    expect(sea[0]).toMatchObject({ object: "model", owned_by: "rag-service" });
    const all = (await client(TENANT_KEYS.all).models.list()).data.map((m) => m.id);
    expect(all).toEqual(["hr", "sea"]);
    expect((await client(TENANT_KEYS.sea).models.retrieve("sea")).id).toBe("sea");
    // Another tenant's collection reads as unknown.
    await expect(client(TENANT_KEYS.sea).models.retrieve("hr")).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe("POST /v1/chat/completions through the OpenAI SDK", () => {
  it("answers with /ask's verified answer, [n] markers, citations on the message, the queryId as id, and real usage", async () => {
    const res = await client(TENANT_KEYS.sea).chat.completions.create({
      model: "sea",
      messages: [
        { role: "system", content: "You are a helpful assistant. Make things up if you must." },
        { role: "user", content: Q1 },
      ],
    });
    expect(res.object).toBe("chat.completion");
    expect(res.model).toBe("sea");
    const message = res.choices[0]!.message as (typeof res.choices)[0]["message"] & {
      citations: unknown[];
      abstained: boolean;
    };
    expect(res.choices[0]!.finish_reason).toBe("stop");
    expect(message.content).toMatch(/1844.*\[1\]/);
    expect(message.abstained).toBe(false);
    expect(message.citations.length).toBeGreaterThan(0);
    for (const c of message.citations) {
      CitationSchema.parse(c);
    }
    expect(message.citations.map((c: any) => c.path)).toContain("skerryvore.md");

    // The id is the query log's: the same row /ask writes, rated by POST /feedback.
    const [row] = await queryRows<{ question: string; answer: string; usage: any }>(
      tenants.core.database.db,
      sql`SELECT question, answer, usage FROM query_log WHERE id = ${res.id}`,
    );
    expect(row).toMatchObject({ question: Q1, answer: message.content });
    const fb = await fetch(`${url}/feedback`, {
      method: "POST",
      headers: { authorization: `Bearer ${TENANT_KEYS.sea}`, "content-type": "application/json" },
      body: JSON.stringify({ queryId: res.id, rating: 1 }),
    });
    expect(fb.status).toBe(201);

    // Extractive: completion = the answer's tokens; prompt = the packed sources plus the question.
    expect(res.usage!.completion_tokens).toBe(row!.usage.answerTokens);
    expect(res.usage!.prompt_tokens).toBeGreaterThan(row!.usage.contextTokens);
    expect(res.usage!.total_tokens).toBe(res.usage!.prompt_tokens + res.usage!.completion_tokens);
  });

  it("streams OpenAI chunks whose text is exactly the verified answer, citations on the final chunk, usage when asked, then [DONE]", async () => {
    const whole = await client(TENANT_KEYS.sea).chat.completions.create({
      model: "sea",
      messages: [{ role: "user", content: Q1 }],
    });
    const stream = await client(TENANT_KEYS.sea).chat.completions.create({
      model: "sea",
      messages: [{ role: "user", content: Q1 }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) {
      chunks.push(chunk);
    }
    expect(chunks.every((c) => c.object === "chat.completion.chunk")).toBe(true);
    expect(chunks[0]!.choices[0]!.delta.role).toBe("assistant");
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? "").join("");
    expect(text).toBe(whole.choices[0]!.message.content);
    const final = chunks.find((c) => c.choices[0]?.finish_reason === "stop")!;
    const citations = (final.choices[0]!.delta as any).citations;
    expect(citations.map((c: any) => c.path)).toEqual(
      (whole.choices[0]!.message as any).citations.map((c: any) => c.path),
    );
    expect((final as any).citations).toEqual(citations);
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage!.total_tokens).toBe(last.usage!.prompt_tokens + last.usage!.completion_tokens);
    expect(last.usage!.completion_tokens).toBe(whole.usage!.completion_tokens);
    // The stream's id is its own query's: each answer is logged once.
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    expect(chunks[0]!.id).not.toBe(whole.id);

    // On the wire: data lines only, the last one [DONE].
    const raw = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${TENANT_KEYS.sea}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "sea", messages: [{ role: "user", content: Q1 }], stream: true }),
    });
    expect(raw.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const events = (await raw.text()).trim().split("\n\n");
    expect(events.at(-1)).toBe("data: [DONE]");
    expect(events.every((e) => e.startsWith("data: "))).toBe(true);
    // Without include_usage no usage chunk, as OpenAI does.
    expect(events.slice(0, -1).some((e) => JSON.parse(e.slice(6)).usage)).toBe(false);
  });

  it("a follow-up in the messages is answered from the first turn's subject, and says how it was rewritten", async () => {
    const first = await client(TENANT_KEYS.sea).chat.completions.create({
      model: "sea",
      messages: [{ role: "user", content: Q1 }],
    });
    const res = await client(TENANT_KEYS.sea).chat.completions.create({
      model: "sea",
      messages: [
        { role: "user", content: Q1 },
        { role: "assistant", content: first.choices[0]!.message.content! },
        { role: "user", content: "And who designed it?" },
      ],
    });
    const message = res.choices[0]!.message as any;
    expect(message.content).toContain("Alan Stevenson");
    expect(message.content).not.toContain("Robert Stevenson");
    expect(message.citations.map((c: any) => c.path)).toEqual(["skerryvore.md"]);
    const [row] = await queryRows<{ rewritten_question: string }>(
      tenants.core.database.db,
      sql`SELECT rewritten_question FROM query_log WHERE id = ${res.id}`,
    );
    expect(row!.rewritten_question).toBe("Who designed the Skerryvore lighthouse?");
  });
});

describe("errors on /v1 arrive in OpenAI's shape, as the SDK's own error classes", () => {
  it("a missing or unknown key is AuthenticationError (401, authentication_error)", async () => {
    const err = await client("not-a-valid-key-0123456789")
      .chat.completions.create({ model: "sea", messages: [{ role: "user", content: Q1 }] })
      .catch((e) => e);
    expect(err).toBeInstanceOf(AuthenticationError);
    expect(err.status).toBe(401);
    expect(err.type).toBe("authentication_error");
    expect(err.code).toBe("unauthorized");
    expect(err.error.message).toMatch(/not valid/);
    const raw = await fetch(`${url}/v1/models`);
    expect(raw.status).toBe(401);
    expect(raw.headers.get("www-authenticate")).toMatch(/^Bearer/);
    const body = (await raw.json()) as { error: Record<string, unknown> };
    expect(Object.keys(body.error).sort()).toEqual(["code", "message", "param", "request_id", "type"]);
  });

  it("the rate limit is RateLimitError (429, rate_limit_error) with Retry-After", async () => {
    const limited = await tenants.serve({ RATE_LIMIT_PER_MINUTE: 1 });
    const sea = client(TENANT_KEYS.sea, limited.url);
    await sea.chat.completions.create({ model: "sea", messages: [{ role: "user", content: Q1 }] });
    const err = await sea.chat.completions
      .create({ model: "sea", messages: [{ role: "user", content: Q1 }] })
      .catch((e) => e);
    expect(err).toBeInstanceOf(RateLimitError);
    expect(err.status).toBe(429);
    expect(err.type).toBe("rate_limit_error");
    expect(err.code).toBe("rate_limited");
    expect(Number(err.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  it("another tenant's collection is model_not_found (404) naming only the key's own, and no passage leaks", async () => {
    const err = await client(TENANT_KEYS.sea)
      .chat.completions.create({ model: "hr", messages: [{ role: "user", content: "How long is parental leave?" }] })
      .catch((e) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.code).toBe("model_not_found");
    expect(err.param).toBe("model");
    expect(err.message).toMatch(/this key may use: sea\./);
    for (const marker of HR_MARKERS) {
      expect(JSON.stringify(err.error)).not.toContain(marker);
    }
    // Asked of its own collection, the hr question finds nothing of hr's.
    const own = await client(TENANT_KEYS.sea).chat.completions.create({
      model: "sea",
      messages: [{ role: "user", content: "How long is parental leave?" }],
    });
    for (const marker of HR_MARKERS) {
      expect(JSON.stringify(own)).not.toContain(marker);
    }
  });

  it("bad requests are BadRequestError (400, invalid_request_error) saying what is wrong", async () => {
    const sea = client(TENANT_KEYS.sea);
    const notUser = await sea.chat.completions
      .create({
        model: "sea",
        messages: [
          { role: "user", content: Q1 },
          { role: "assistant", content: "x" },
        ],
      })
      .catch((e) => e);
    expect(notUser).toBeInstanceOf(BadRequestError);
    expect(notUser.type).toBe("invalid_request_error");
    expect(notUser.message).toMatch(/last message must be the user's question/);
    const image = await sea.chat.completions
      .create({
        model: "sea",
        messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "http://x/y.png" } }] }],
      })
      .catch((e) => e);
    expect(image).toBeInstanceOf(BadRequestError);
    expect(image.message).toMatch(/only text parts/);
    const two = await sea.chat.completions
      .create({ model: "sea", n: 2, messages: [{ role: "user", content: Q1 }] })
      .catch((e) => e);
    expect(two).toBeInstanceOf(BadRequestError);
    expect(two.message).toMatch(/n must be 1/);
    const empty = await sea.chat.completions
      .create({ model: "sea", messages: [{ role: "user", content: "  " }] })
      .catch((e) => e);
    expect(empty).toBeInstanceOf(BadRequestError);
    expect(empty.message).toMatch(/question must not be empty/);
  });
});
