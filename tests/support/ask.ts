import type { z } from "zod";
import {
  type AskResponse,
  AskResponseSchema,
  type askRequestSchema,
  type ErrorBody,
  ErrorBodySchema,
} from "../../schemas/api.js";

/** The body POST /ask accepts, typed by its zod request schema (as a client writes it, before defaults). */
export type AskBody = z.input<ReturnType<typeof askRequestSchema>>;

/** Anything with Hono's `request`: the app under test, in-process. */
export interface Requestable {
  request(path: string, init?: RequestInit): Response | Promise<Response>;
}

export interface AskOptions {
  /** Sent as `Authorization: Bearer <key>`. */
  key?: string;
  headers?: Record<string, string>;
}

export interface Reply<B> {
  status: number;
  headers: Headers;
  body: B;
}

async function post(app: Requestable, request: AskBody, opts: AskOptions) {
  const res = await app.request("/ask", {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(opts.key ? { authorization: `Bearer ${opts.key}` } : {}),
      ...opts.headers,
    },
    body: JSON.stringify(request),
  });
  return { status: res.status, headers: res.headers, json: (await res.json()) as unknown };
}

/**
 * POSTs `request` to /ask and returns the answer parsed by `AskResponseSchema`. An error status, or a body the
 * schema refuses, fails the test with what came back.
 *
 * @example const { body } = await ask(app, { question: "Who designed it?", collection: "sea" }, { key });
 */
export async function ask(app: Requestable, request: AskBody, opts: AskOptions = {}): Promise<Reply<AskResponse>> {
  const { status, headers, json } = await post(app, request, opts);
  if (status < 200 || status > 299) {
    throw new Error(`POST /ask answered ${status}: ${JSON.stringify(json)}`);
  }
  return { status, headers, body: AskResponseSchema.parse(json) };
}

/** POSTs `request` to /ask, expecting an error: returns the body parsed by `ErrorBodySchema`. */
export async function askError(app: Requestable, request: AskBody, opts: AskOptions = {}): Promise<Reply<ErrorBody>> {
  const { status, headers, json } = await post(app, request, opts);
  if (status >= 200 && status <= 299) {
    throw new Error(`POST /ask answered ${status} where an error was expected: ${JSON.stringify(json)}`);
  }
  return { status, headers, body: ErrorBodySchema.parse(json) };
}
