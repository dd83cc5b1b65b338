import type { MiddlewareHandler } from "hono";
import { createApiKeyStore, type ApiKeyRow } from "../../pipelines/store/api-key-queries.js";
import { matchEnvKey, hashKey, OPEN_PRINCIPAL, type HashedKey, type Scope } from "../common/api-keys.js";
import type { CoreDeps } from "../common/deps.js";
import type { AppEnv, Authenticator } from "./context.js";

export type { Authenticator } from "./context.js";
import { errorResponse } from "./errors.js";
import { clientIp, createRateLimiter, type RateLimiter } from "./rate-limit.js";

/** What a route asks of the caller: nothing, the metrics rule, or any one of these scopes. */
export type Access = "public" | "metrics" | readonly Scope[];

const READ: readonly Scope[] = ["ask", "ingest", "admin"];
const ASK: readonly Scope[] = ["ask", "admin"];
const ADMIN: readonly Scope[] = ["admin"];

/**
 * The one table of who may call what (README "Security"). Unlisted paths need a valid key of any
 * scope, so an anonymous caller cannot even learn which routes exist.
 */
export const ROUTE_ACCESS: ReadonlyArray<{ method: string; path: RegExp; access: Access }> = [
  { method: "GET", path: /^\/(healthz|readyz|openapi\.json)\/?$/, access: "public" },
  // The web app's page and bundles hold no data; it asks for a key itself and sends it with each API call.
  { method: "GET", path: /^\/(app\/[\w-]+\.(js|css))?$/, access: "public" },
  { method: "GET", path: /^\/metrics\/?$/, access: "metrics" },
  { method: "POST", path: /^\/ask\/?$/, access: ASK },
  { method: "POST", path: /^\/feedback\/?$/, access: ASK },
  { method: "GET", path: /^\/quality(\/.*)?$/, access: ASK },
  { method: "GET", path: /^\/queries\/[^/]+\/metrics\/?$/, access: ASK },
  { method: "GET", path: /^\/(documents|status)(\/.*)?$/, access: READ },
  { method: "*", path: /^\/admin(\/.*)?$/, access: ADMIN },
  { method: "POST", path: /^\/v1\/chat\/completions\/?$/, access: ASK },
  { method: "GET", path: /^\/v1\/models(\/.*)?$/, access: ASK },
  { method: "*", path: /^\/mcp\/?$/, access: ASK },
];

export function accessFor(method: string, path: string): Access | undefined {
  // HEAD is a GET without the body (load balancers probe /healthz with it).
  const m = method === "HEAD" ? "GET" : method;
  return ROUTE_ACCESS.find((r) => (r.method === "*" || r.method === m) && r.path.test(path))?.access;
}

/**
 * Resolves the caller. Authentication is on when API_KEYS lists keys or a key was ever added to the
 * keys table (revoked ones count: revoking the last key locks the service rather than opening it).
 * Table reads are cached for `cacheMs`, so `npm run keys -- add|revoke` reaches a running service
 * within that time.
 */
export function createAuthenticator(opts: {
  envKeys?: readonly HashedKey[] | undefined;
  /** The database holding the keys table; null while the process is starting. */
  core: () => CoreDeps | null;
  cacheMs?: number;
}): Authenticator {
  const envKeys = opts.envKeys ?? [];
  const cacheMs = opts.cacheMs ?? 5_000;
  let tableKeys: { n: number; at: number } | null = null;
  // Lookups by hash, so a busy client does not cost a query per request; bounded, as a flood of
  // random keys would otherwise grow it.
  const looked = new Map<string, { row: ApiKeyRow | undefined; at: number }>();
  const fresh = (at: number) => Date.now() - at < cacheMs;

  async function tableKeyCount(core: CoreDeps): Promise<number> {
    if (!tableKeys || !fresh(tableKeys.at)) {
      tableKeys = { n: await createApiKeyStore(core.database.db).countAll(), at: Date.now() };
    }
    return tableKeys.n;
  }

  async function lookUp(core: CoreDeps, hex: string): Promise<ApiKeyRow | undefined> {
    const hit = looked.get(hex);
    if (hit && fresh(hit.at)) {
      return hit.row;
    }
    const row = await createApiKeyStore(core.database.db).findActive(hex);
    if (looked.size >= 1000) {
      looked.clear();
    }
    looked.set(hex, { row, at: Date.now() });
    return row;
  }

  return {
    async resolve(presented) {
      const core = opts.core();
      if (envKeys.length === 0) {
        // Without API_KEYS, only the table can turn authentication on; until it can be read,
        // nothing but the public routes may answer (fail closed).
        if (!core) {
          return { error: "unavailable" };
        }
        if ((await tableKeyCount(core)) === 0) {
          return { principal: OPEN_PRINCIPAL };
        }
      }
      if (!presented) {
        return { error: "missing" };
      }
      const hash = hashKey(presented);
      const env = matchEnvKey(envKeys, hash);
      if (env) {
        return { principal: { keyId: env.id, scopes: new Set(env.scopes), collections: env.collections } };
      }
      if (!core) {
        return { error: envKeys.length ? "invalid" : "unavailable" };
      }
      const row = await lookUp(core, hash.toString("hex"));
      if (!row) {
        return { error: "invalid" };
      }
      return { principal: { keyId: row.id, scopes: new Set(row.scopes as Scope[]), collections: row.collections } };
    },
  };
}

/** `Authorization: Bearer <key>`, or `X-API-Key: <key>`. */
export function presentedKey(authorization: string | undefined, apiKeyHeader: string | undefined): string | undefined {
  const bearer = authorization?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
  return bearer ?? (apiKeyHeader?.trim() || undefined);
}

/**
 * Sets `c.var.principal`, or answers 401 `unauthorized` (missing or unknown key, with
 * WWW-Authenticate) / 403 `forbidden` (a valid key without the route's scope). Runs before the
 * body is read, so an anonymous caller cannot make the service parse anything.
 */
export function authenticate(
  auth: Authenticator,
  metricsPublic: boolean,
  /** Unknown keys per client IP (default 30 a minute): guessing keys costs hashing and lookups, and gets nowhere. */
  failures: RateLimiter = createRateLimiter(30),
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const access = accessFor(c.req.method, c.req.path);
    if (access === "public" || (access === "metrics" && metricsPublic)) {
      c.set("principal", OPEN_PRINCIPAL);
      return next();
    }
    const result = await auth.resolve(presentedKey(c.req.header("authorization"), c.req.header("x-api-key")));
    if ("error" in result) {
      if (result.error === "unavailable") {
        return errorResponse(c, "index_not_ready", "The service is still starting; retry when /readyz says ready.");
      }
      if (result.error === "invalid") {
        const taken = await failures.take(`ip:${clientIp(c)}`);
        if (!taken.ok) {
          c.header("Retry-After", String(taken.retryAfterSeconds));
          return errorResponse(
            c,
            "rate_limited",
            `Too many requests with unknown keys; retry in ${taken.retryAfterSeconds} s.`,
          );
        }
      }
      c.header("WWW-Authenticate", 'Bearer realm="rag-service"');
      return errorResponse(
        c,
        "unauthorized",
        result.error === "missing"
          ? "This service requires an API key: send Authorization: Bearer <key> or X-API-Key: <key>."
          : "The API key is not valid (unknown or revoked).",
      );
    }
    const { principal } = result;
    const needed = access === "metrics" ? ADMIN : access;
    if (needed && !needed.some((s) => principal.scopes.has(s))) {
      return errorResponse(c, "forbidden", `This key lacks the scope this route needs (one of: ${needed.join(", ")}).`);
    }
    c.set("principal", principal);
    return next();
  };
}
