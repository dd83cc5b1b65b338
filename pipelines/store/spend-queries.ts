import { sql } from "drizzle-orm";
import { queryRows, type Drizzle } from "./database.js";

export interface DailyBudget {
  tokens: number | null;
  usd: number | null;
}

/** The UTC day `at` falls in, and when it ends (when a day's budget resets). */
export function budgetDay(at: Date): { day: string; resetsAt: Date } {
  const day = at.toISOString().slice(0, 10);
  return { day, resetsAt: new Date(Date.parse(`${day}T00:00:00.000Z`) + 86_400_000) };
}

/** key_spend and the per-key budgets on api_keys (migration 0014); shared by every API process. */
export function createSpendStore(db: Drizzle) {
  return {
    async spent(keyId: string, day: string): Promise<{ tokens: number; usd: number }> {
      const [row] = await queryRows<{ tokens: string | number; usd: number }>(
        db,
        sql`SELECT tokens, usd FROM key_spend WHERE key_id = ${keyId} AND day = ${day}::date`,
      );
      return { tokens: Number(row?.tokens ?? 0), usd: Number(row?.usd ?? 0) };
    },

    /** Adds one query's spend, atomically (concurrent processes add, never overwrite). */
    async add(keyId: string, day: string, tokens: number, usd: number): Promise<void> {
      await db.execute(sql`
        INSERT INTO key_spend (key_id, day, tokens, usd) VALUES (${keyId}, ${day}::date, ${tokens}, ${usd})
        ON CONFLICT (key_id, day) DO UPDATE SET tokens = key_spend.tokens + EXCLUDED.tokens, usd = key_spend.usd + EXCLUDED.usd`);
    },

    /** The key's own budget (npm run keys -- budget); nulls where it has none, or for a key not in the table. */
    async budgetOf(keyId: string): Promise<DailyBudget> {
      const [row] = await queryRows<{ t: string | number | null; u: number | null }>(
        db,
        sql`SELECT daily_token_budget AS t, daily_usd_budget AS u FROM api_keys WHERE id = ${keyId}`,
      );
      return { tokens: row?.t == null ? null : Number(row.t), usd: row?.u == null ? null : Number(row.u) };
    },

    /** Sets (or with null clears) a key's budgets; false when no such key. */
    async setBudget(keyId: string, budget: DailyBudget): Promise<boolean> {
      const rows = await queryRows<{ id: string }>(
        db,
        sql`UPDATE api_keys SET daily_token_budget = ${budget.tokens}, daily_usd_budget = ${budget.usd} WHERE id = ${keyId} RETURNING id`,
      );
      return rows.length > 0;
    },
  };
}

export type SpendStore = ReturnType<typeof createSpendStore>;
