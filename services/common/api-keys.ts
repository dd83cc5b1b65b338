import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

export const SCOPES = ["ask", "ingest", "admin"] as const;
export type Scope = (typeof SCOPES)[number];

/** Who is calling: a key's id, scopes and collections (`null`: every collection). */
export interface Principal {
  /** The key's id (`env_…` for API_KEYS entries, `key_…` for the keys table); null with authentication off. */
  keyId: string | null;
  scopes: ReadonlySet<Scope>;
  collections: readonly string[] | null;
}

/** With no keys configured, everything is open, as the embedded default always was. */
export const OPEN_PRINCIPAL: Principal = { keyId: null, scopes: new Set(SCOPES), collections: null };

/** An API_KEYS entry as held in memory: the key itself is hashed at start-up and dropped. */
export interface HashedKey {
  id: string;
  hash: Buffer;
  scopes: Scope[];
  collections: string[] | null;
}

export const hashKey = (key: string): Buffer => createHash("sha256").update(key, "utf8").digest();

/** A new random key: `rk_` and 43 base64url characters (256 bits). Printed once, stored hashed. */
export const generateKey = (): string => `rk_${randomBytes(32).toString("base64url")}`;

const KEY = /^[A-Za-z0-9_.~+/=-]{16,256}$/;
const COLLECTION = /^[\w.-]{1,128}$/;

/** Parses a comma-separated scope list; throws a message naming the bad part. */
export function parseScopes(value: string): Scope[] {
  const scopes = value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (scopes.length === 0) {
    throw new Error("no scopes given (use ask, ingest, admin, comma-separated)");
  }
  for (const s of scopes) {
    if (!(SCOPES as readonly string[]).includes(s)) {
      throw new Error(`unknown scope "${s}" (use ask, ingest, admin)`);
    }
  }
  return [...new Set(scopes)] as Scope[];
}

/** Parses a comma-separated collection list, or `*` for all (null). */
export function parseCollections(value: string): string[] | null {
  const list = value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (list.length === 1 && list[0] === "*") {
    return null;
  }
  if (list.length === 0) {
    throw new Error('no collections given (name them comma-separated, or "*" for all)');
  }
  for (const c of list) {
    if (!COLLECTION.test(c)) {
      throw new Error(`collection "${c}" must be 1-128 letters, digits, '.', '_' or '-'`);
    }
  }
  return [...new Set(list)];
}

/**
 * Parses API_KEYS: `<key>:<scopes>:<collections>` entries separated by `;`, scopes and collections
 * comma-separated, `*` for every collection, e.g.
 * `API_KEYS="k_hr_0123456789abcdef:ask:hr;k_ops_0123456789abcdef:ask,ingest,admin:*"`.
 * Keys are hashed here and the plain text is not kept. Error messages give the entry's position,
 * never the key.
 */
export function parseApiKeys(value: string): HashedKey[] {
  const entries = value
    .split(";")
    .map((e) => e.trim())
    .filter(Boolean);
  const out: HashedKey[] = [];
  entries.forEach((entry, i) => {
    const where = `entry ${i + 1}`;
    const parts = entry.split(":");
    if (parts.length !== 3) {
      throw new Error(`${where}: expected <key>:<scopes>:<collections>`);
    }
    const [key, scopes, collections] = parts as [string, string, string];
    if (!KEY.test(key)) {
      throw new Error(`${where}: the key must be 16-256 characters of letters, digits and _ . ~ + / = -`);
    }
    try {
      const hash = hashKey(key);
      out.push({
        id: `env_${hash.toString("hex").slice(0, 8)}`,
        hash,
        scopes: parseScopes(scopes),
        collections: parseCollections(collections),
      });
    } catch (err) {
      throw new Error(`${where}: ${(err as Error).message}`);
    }
  });
  if (out.length === 0) {
    throw new Error("no keys given");
  }
  if (new Set(out.map((k) => k.id)).size !== out.length) {
    throw new Error("the same key is listed twice");
  }
  return out;
}

/**
 * Finds the API_KEYS entry a presented key hashes to. Every entry is compared, in constant time
 * per entry, so the time taken does not depend on which entry (if any) matched.
 */
export function matchEnvKey(keys: readonly HashedKey[], presented: Buffer): HashedKey | undefined {
  let found: HashedKey | undefined;
  for (const k of keys) {
    if (timingSafeEqual(k.hash, presented) && !found) {
      found = k;
    }
  }
  return found;
}
