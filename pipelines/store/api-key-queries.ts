import { randomBytes } from "node:crypto";
import { and, asc, count, eq, isNull } from "drizzle-orm";
import { apiKeys } from "../../schemas/db.js";
import type { Drizzle } from "./database.js";

export type ApiKeyRow = typeof apiKeys.$inferSelect;

/** The keys table (`npm run keys`): rows hold a key's SHA-256, never the key. */
export function createApiKeyStore(db: Drizzle) {
  return {
    async add(k: {
      name: string;
      keyHash: string;
      prefix: string;
      scopes: string[];
      collections: string[] | null;
    }): Promise<ApiKeyRow> {
      const [row] = await db
        .insert(apiKeys)
        .values({ id: `key_${randomBytes(6).toString("hex")}`, ...k })
        .returning();
      return row!;
    },

    async list(): Promise<ApiKeyRow[]> {
      return db.select().from(apiKeys).orderBy(asc(apiKeys.createdAt), asc(apiKeys.id));
    },

    /** Revokes by id; false when no such key is active. */
    async revoke(id: string): Promise<boolean> {
      const rows = await db
        .update(apiKeys)
        .set({ revokedAt: new Date() })
        .where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt)))
        .returning({ id: apiKeys.id });
      return rows.length > 0;
    },

    /** The active key with this hash (hex SHA-256), if any. */
    async findActive(keyHash: string): Promise<ApiKeyRow | undefined> {
      return (
        await db
          .select()
          .from(apiKeys)
          .where(and(eq(apiKeys.keyHash, keyHash), isNull(apiKeys.revokedAt)))
      )[0];
    },

    /**
     * Keys ever added, revoked ones included: revoking the last key must lock the service, not
     * open it to everyone again.
     */
    async countAll(): Promise<number> {
      const [row] = await db.select({ n: count() }).from(apiKeys);
      return Number(row?.n ?? 0);
    },
  };
}

export type ApiKeyStore = ReturnType<typeof createApiKeyStore>;
