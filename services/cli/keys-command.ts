import { parseArgs } from "node:util";
import { createApiKeyStore } from "../../pipelines/store/api-key-queries.js";
import { createSpendStore } from "../../pipelines/store/spend-queries.js";
import type { Drizzle } from "../../pipelines/store/database.js";
import { generateKey, hashKey, parseCollections, parseScopes } from "../common/api-keys.js";

export const KEYS_HELP = `npm run keys -- add --name <name> --scopes ask[,ingest,admin] [--collections hr,default | *]
npm run keys -- list
npm run keys -- revoke <id>
npm run keys -- budget <id> [--tokens <n>|none] [--usd <x>|none]

add prints the new key once; only its SHA-256 is stored. --collections defaults to * (every collection).
With the embedded PGlite database run this while the service is stopped (PGlite serves one process);
with DATABASE_URL at any time. A running service sees added and revoked keys within 5 seconds.
budget sets the key's daily budget (UTC day) in tokens and/or USD; none clears it, so the configured
BUDGET_DAILY_TOKENS / BUDGET_DAILY_USD apply. Over budget, /ask answers 429 budget_exceeded until the day ends.`;

/** Thrown for a usage mistake; the CLI prints the message and the help, and exits 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** `keys add|list|revoke` against `db`; writes to `out`. Split from the CLI's main so tests can run it. */
export async function runKeysCommand(argv: string[], db: Drizzle, out: (line: string) => void): Promise<void> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      name: { type: "string" },
      scopes: { type: "string" },
      collections: { type: "string" },
      tokens: { type: "string" },
      usd: { type: "string" },
    },
  });
  const store = createApiKeyStore(db);
  const [command, ...rest] = positionals;
  if (command === "add") {
    if (!values.name?.trim()) {
      throw new UsageError("add needs --name <name> (who or what the key is for)");
    }
    if (!values.scopes) {
      throw new UsageError("add needs --scopes, e.g. --scopes ask or --scopes ask,ingest,admin");
    }
    let scopes: ReturnType<typeof parseScopes>;
    let collections: ReturnType<typeof parseCollections>;
    try {
      scopes = parseScopes(values.scopes);
      collections = parseCollections(values.collections ?? "*");
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const key = generateKey();
    const row = await store.add({
      name: values.name.trim(),
      keyHash: hashKey(key).toString("hex"),
      prefix: key.slice(0, 7),
      scopes,
      collections,
    });
    out(`id:          ${row.id}`);
    out(`scopes:      ${scopes.join(",")}`);
    out(`collections: ${collections ? collections.join(",") : "*"}`);
    out(`key:         ${key}`);
    out("The key is shown only now; store it safely. Send it as Authorization: Bearer <key>.");
    return;
  }
  if (command === "list") {
    const rows = await store.list();
    if (rows.length === 0) {
      return out("no keys (authentication is off unless API_KEYS is set)");
    }
    for (const r of rows) {
      const state = r.revokedAt ? `revoked ${r.revokedAt.toISOString()}` : "active";
      const budget =
        r.dailyTokenBudget !== null || r.dailyUsdBudget !== null
          ? `  budget=${r.dailyTokenBudget ?? "-"} tokens/${r.dailyUsdBudget ?? "-"} usd`
          : "";
      out(
        `${r.id}  ${r.prefix}…  ${r.name}  scopes=${r.scopes.join(",")}  collections=${r.collections?.join(",") ?? "*"}${budget}  ${state}`,
      );
    }
    return;
  }
  if (command === "revoke") {
    const id = rest[0];
    if (!id) {
      throw new UsageError("revoke needs the key's id (see keys list)");
    }
    if (!(await store.revoke(id))) {
      throw new UsageError(`no active key with id ${id}`);
    }
    return out(`revoked ${id}`);
  }
  if (command === "budget") {
    const id = rest[0];
    if (!id) {
      throw new UsageError("budget needs the key's id (see keys list)");
    }
    if (values.tokens === undefined && values.usd === undefined) {
      throw new UsageError("budget needs --tokens <n> and/or --usd <x> (none clears one)");
    }
    const spend = createSpendStore(db);
    const current = await spend.budgetOf(id);
    const budget = {
      tokens: values.tokens === undefined ? current.tokens : amount("--tokens", values.tokens, true),
      usd: values.usd === undefined ? current.usd : amount("--usd", values.usd, false),
    };
    if (!(await spend.setBudget(id, budget))) {
      throw new UsageError(`no key with id ${id}`);
    }
    return out(`budget ${id}: tokens ${budget.tokens ?? "default"}, usd ${budget.usd ?? "default"} a day (UTC)`);
  }
  throw new UsageError(command ? `unknown command "${command}"` : "give a command: add, list, revoke or budget");
}

/** A budget amount: a non-negative number (whole for tokens), or none to clear it. */
function amount(flag: string, value: string, whole: boolean): number | null {
  if (value === "none") {
    return null;
  }
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < 0 || (whole && !Number.isInteger(n))) {
    throw new UsageError(
      `${flag} must be ${whole ? "a whole number" : "a number"} of at least 0, or none (got ${JSON.stringify(value)})`,
    );
  }
  return n;
}
