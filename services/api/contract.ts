import { extendZodWithOpenApi, OpenAPIHono, type RouteConfig } from "@hono/zod-openapi";
import type { Context } from "hono";
import { z } from "zod";
import { ERROR_STATUS, ErrorBodySchema, type ErrorCode } from "../../schemas/api.js";
import type { AppEnv } from "./context.js";
import { EXAMPLE_REQUEST_ID } from "./examples.js";

// `.openapi(name)` on the schemas the routes declare. @hono/zod-openapi extends the zod it imports; under a
// module runner (vitest) that can be another instance than the routes' own, so this one is extended too.
extendZodWithOpenApi(z);

/**
 * `schema` under `id` in the document's components. A clone, since zod copies `.openapi` onto the
 * schemas made after the extension above only, and the shared ones (schemas/) may be made before it.
 */
export function named<S extends z.ZodType>(id: string, schema: S): S {
  return schema.clone().openapi(id) as S;
}

/** The component name of the error body every route answers its errors with. */
const ErrorComponent = named("Error", ErrorBodySchema);

/** A JSON response: its schema and an example the document test checks against that schema. */
export function json<S extends z.ZodType>(description: string, schema: S, example: z.input<S>) {
  return { description, content: { "application/json": { schema, example } } };
}

/** The component name of OpenAI's error body, which every error under /v1 is rewritten into (openai-errors.ts). */
const OpenAiErrorComponent = z
  .object({
    error: z.object({
      message: z.string(),
      type: z.string(),
      code: z.string(),
      param: z.string().nullable(),
      request_id: z.string().optional(),
    }),
  })
  .openapi("OpenAiError");

/**
 * The error responses of a route, by code: each status lists what can answer it and carries one
 * example body. `why` says, per code, when the route answers with it. `openai`: the route is under
 * /v1, where the same errors come in OpenAI's shape.
 * @example
 *   responses: { 200: json(...), ...errors({ not_found: "no such document", index_not_ready: "starting" }) }
 */
export function errors(why: Partial<Record<ErrorCode, string>>, shape: "api" | "openai" = "api") {
  const byStatus = new Map<number, Array<[ErrorCode, string]>>();
  for (const [code, text] of Object.entries(why) as Array<[ErrorCode, string]>) {
    const status = ERROR_STATUS[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), [code, text]]);
  }
  const example = (code: ErrorCode, message: string) =>
    shape === "api"
      ? { error: { code, message, requestId: EXAMPLE_REQUEST_ID } }
      : {
          error: { message, type: "invalid_request_error", code, param: null, request_id: EXAMPLE_REQUEST_ID },
        };
  return Object.fromEntries(
    [...byStatus].map(([status, codes]) => [
      status,
      {
        description: codes.map(([code, text]) => `${code}: ${text}`).join("; "),
        content: {
          "application/json": {
            schema: shape === "api" ? ErrorComponent : OpenAiErrorComponent,
            example: example(codes[0]![0], codes[0]![1]),
          },
        },
      },
    ]),
  );
}

/** What any route that needs a key can answer before its handler runs (README "Security"), and a fault of ours. */
export const GUARDED_ERRORS = {
  unauthorized: "no API key, or an unknown or revoked one (authentication on)",
  forbidden: "the key lacks the route's scope or collection",
  rate_limited: "the key's (or the client's) requests per minute are spent; Retry-After says when to retry",
  internal_error: "a fault of ours; the request id finds it in the logs",
} as const satisfies Partial<Record<ErrorCode, string>>;

/** What a route that needs a key and not the index answers while the keys cannot be read yet (auth.ts fails closed). */
export const STARTING_ERRORS = {
  index_not_ready: "authentication is on and the keys cannot be read yet (start-up)",
} as const satisfies Partial<Record<ErrorCode, string>>;

/** What a route that reads a body can also answer: the body limit (MAX_BODY_BYTES). */
export const BODY_ERRORS = {
  payload_too_large: "the body is larger than MAX_BODY_BYTES",
} as const satisfies Partial<Record<ErrorCode, string>>;

/** A route handler: the app's context in (`P`: the Hono path, for typed params), a response out. */
// biome-ignore lint/suspicious/noExplicitAny: Hono's own default for a context's path.
export type RouteHandler<P extends string = any> = (c: Context<AppEnv, P>) => Response | Promise<Response>;

/**
 * One route: its declaration (method, path, summary, request schemas, responses with examples)
 * and its handler, mounted with `app.route()` like any sub-app; the app's /openapi.json is
 * generated from these declarations. The request schemas are declared for the document and parsed
 * by the handler itself with the same schema objects (parseJsonBody, parseQuery): the handler
 * decides the order of its checks (a key's scope before its body, the body before the index) and
 * the one zod-to-API-error mapping (services/api/query.ts `invalid`) words every failure.
 */
export function defineRoute<R extends RouteConfig>(
  route: R,
  handler: RouteHandler,
  opts: {
    /** Schemas the responses do not name themselves (the events of a stream), listed under components. */
    components?: Record<string, z.ZodType>;
    /** The handler answers every method at the path (/mcp answers GET and DELETE itself, with 405). */
    anyMethod?: boolean;
    /** More declarations of the same path that the handler answers (those other methods). */
    also?: RouteConfig[];
  } = {},
): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();
  for (const [name, schema] of Object.entries(opts.components ?? {})) {
    app.openAPIRegistry.register(name, named(name, schema));
  }
  for (const declared of [route, ...(opts.also ?? [])]) {
    app.openAPIRegistry.registerPath(declared);
  }
  if (opts.anyMethod) {
    app.all(route.path.replaceAll(/\/{(.+?)}/g, "/:$1"), handler);
  } else {
    // `hide`: registered above in full; `request` left out so that no second validator runs before the handler.
    app.openapi({ ...route, request: undefined, hide: true }, handler as never);
  }
  return app;
}

/** Several routes that share one file's helpers (GET /v1/models and /v1/models/{id}), as one sub-app. */
export function defineRoutes(...routes: Array<[RouteConfig, RouteHandler]>): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();
  for (const [route, handler] of routes) {
    app.route("/", defineRoute(route, handler));
  }
  return app;
}
