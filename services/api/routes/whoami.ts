import { Hono } from "hono";
import { sql } from "drizzle-orm";
import { queryRows } from "../../../pipelines/store/database.js";
import type { AppEnv } from "../context.js";
import { ApiError } from "../errors.js";

/**
 * GET /whoami: what the presented key may do, for clients that adapt to it (the web app's
 * collection picker and admin buttons): whether authentication is on, the key's id, scopes and
 * the collections it may read (every collection the index knows for a `*` key). `admin` is true
 * only for an admin key over all collections, the one that may start a re-index.
 */
export const whoamiRoute = new Hono<AppEnv>().get("/", async (c) => {
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
});
