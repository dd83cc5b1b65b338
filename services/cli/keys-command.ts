import { parseArgs } from "node:util";
import { createApiKeyStore } from "../../pipelines/store/api-key-queries.js";
import type { Drizzle } from "../../pipelines/store/database.js";
import { generateKey, hashKey, parseCollections, parseScopes } from "../common/api-keys.js";

export const KEYS_HELP = `npm run keys -- add --name <name> --scopes ask[,ingest,admin] [--collections hr,default | *]
npm run keys -- list
npm run keys -- revoke <id>

add prints the new key once; only its SHA-256 is stored. --collections defaults to * (every collection).
With the embedded PGlite database run this while the service is stopped (PGlite serves one process);
with DATABASE_URL at any time. A running service sees added and revoked keys within 5 seconds.`;

/** Thrown for a usage mistake; the CLI prints the message and the help, and exits 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** `keys add|list|revoke` against `db`; writes to `out`. Split from the CLI's main so tests can run it. */
export async function runKeysCommand(argv: string[], db: Drizzle, out: (line: string) => void): Promise<void> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { name: { type: "string" }, scopes: { type: "string" }, collections: { type: "string" } },
  });
  const store = createApiKeyStore(db);
  const [command, ...rest] = positionals;
  if (command === "add") {
    if (!values.name?.trim()) throw new UsageError("add needs --name <name> (who or what the key is for)");
    if (!values.scopes) throw new UsageError("add needs --scopes, e.g. --scopes ask or --scopes ask,ingest,admin");
    let scopes, collections;
    try {
      scopes = parseScopes(values.scopes);
      collections = parseCollections(values.collections ?? "*");
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const key = generateKey();
    const row = await store.add({ name: values.name.trim(), keyHash: hashKey(key).toString("hex"), prefix: key.slice(0, 7), scopes, collections });
    out(`id:          ${row.id}`);
    out(`scopes:      ${scopes.join(",")}`);
    out(`collections: ${collections ? collections.join(",") : "*"}`);
    out(`key:         ${key}`);
    out("The key is shown only now; store it safely. Send it as Authorization: Bearer <key>.");
    return;
  }
  if (command === "list") {
    const rows = await store.list();
    if (rows.length === 0) return out("no keys (authentication is off unless API_KEYS is set)");
    for (const r of rows) {
      const state = r.revokedAt ? `revoked ${r.revokedAt.toISOString()}` : "active";
      out(`${r.id}  ${r.prefix}…  ${r.name}  scopes=${r.scopes.join(",")}  collections=${r.collections?.join(",") ?? "*"}  ${state}`);
    }
    return;
  }
  if (command === "revoke") {
    const id = rest[0];
    if (!id) throw new UsageError("revoke needs the key's id (see keys list)");
    if (!(await store.revoke(id))) throw new UsageError(`no active key with id ${id}`);
    return out(`revoked ${id}`);
  }
  throw new UsageError(command ? `unknown command "${command}"` : "give a command: add, list or revoke");
}
