import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { sql } from "drizzle-orm";
import { queryRows } from "../../../pipelines/store/database.js";
import { defineRoute, errors, GUARDED_ERRORS, json, type RouteHandler } from "../contract.js";
import { ApiError } from "../errors.js";

const WhoamiSchema = z.object({
  authentication: z.boolean().describe("False when the service runs without keys."),
  keyId: z.string().nullable(),
  scopes: z.array(z.string()),
  collections: z.array(z.string()).describe("The collections the key may read (all the index knows for a * key)."),
  allCollections: z.boolean(),
  admin: z.boolean().describe("An admin key over all collections: the one that may start a re-index."),
});

const route = createRoute({
  method: "get",
  path: "/",
  summary:
    "What the presented key may do: authentication on or off, key id, scopes, readable collections, whether it may re-index",
  responses: {
    200: json("The key's rights", WhoamiSchema, {
      authentication: true,
      keyId: "k_eng01",
      scopes: ["ask", "read"],
      collections: ["engineering"],
      allCollections: false,
      admin: false,
    }),
    ...errors({ index_not_ready: "the service is still starting", ...GUARDED_ERRORS }),
  },
});

/**
 * GET /whoami: what the presented key may do, for clients that adapt to it (the web app's
 * collection picker and admin buttons): whether authentication is on, the key's id, scopes and
 * the collections it may read (every collection the index knows for a `*` key). `admin` is true
 * only for an admin key over all collections, the one that may start a re-index.
 */
const whoami: RouteHandler = async (c) => {
  const { core } = c.var.deps;
  if (!core) {
    throw new ApiError("index_not_ready", "The service is still starting; retry when /readyz says ready.");
  }
  const p = c.var.principal;
  let collections: string[];
  if (p.collections) {
    collections = [...p.collections].sort();
  } else {
    const rows = await queryRows<{ collection: string }>(
      core.database.db,
      sql`SELECT collection FROM sources UNION SELECT collection FROM documents ORDER BY 1`,
    );
    collections = rows.map((r) => r.collection);
  }
  return c.json({
    authentication: p.keyId !== null,
    keyId: p.keyId,
    scopes: [...p.scopes].sort(),
    collections,
    allCollections: p.collections === null,
    admin: p.scopes.has("admin") && p.collections === null,
  });
};

export const whoamiRoute = defineRoute(route, whoami);
