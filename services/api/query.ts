import type { Context } from "hono";
import type { z } from "zod";
import { ApiError } from "./errors.js";

/** Parses query parameters (each given once) with `schema`; failures are 400 invalid_request, like bodies. */
export function parseQuery<S extends z.ZodType>(c: Context, schema: S): z.infer<S> {
  const parsed = schema.safeParse(c.req.query());
  if (!parsed.success) {
    throw invalid(parsed.error);
  }
  return parsed.data;
}

/** The one mapping of a zod failure to the API error: every issue, with the field it is about. */
export function invalid(error: z.ZodError): ApiError {
  const issues = error.issues.map((i) => ({ path: i.path.join("."), message: i.message }));
  return new ApiError(
    "invalid_request",
    issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join("; "),
    issues,
  );
}

/**
 * Parses a JSON request body with `schema`: a body not declared as JSON, malformed JSON and schema
 * failures are all 400 invalid_request. `optional` accepts an empty body as `{}`.
 */
export async function parseJsonBody<S extends z.ZodType>(
  c: Context,
  schema: S,
  opts: { optional?: boolean } = {},
): Promise<z.infer<S>> {
  const raw = await c.req.text();
  let body: unknown = {};
  if (!(opts.optional && raw.trim() === "")) {
    if (!(c.req.header("content-type") ?? "").toLowerCase().startsWith("application/json")) {
      throw new ApiError("invalid_request", "Send the request body as JSON with Content-Type: application/json.");
    }
    try {
      body = JSON.parse(raw);
    } catch {
      throw new ApiError("invalid_request", "The request body is not valid JSON.");
    }
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    throw invalid(parsed.error);
  }
  return parsed.data;
}
