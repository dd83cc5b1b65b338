import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { sql } from "drizzle-orm";
import { formatForPath } from "../../pipelines/parse/index.js";
import { sourceIdFor } from "../../pipelines/store/catalog.js";
import { queryRows } from "../../pipelines/store/database.js";
import type { CoreDeps } from "../../services/common/deps.js";
import type { StatusReport } from "../../services/common/status-report.js";
import { walk } from "../../services/watcher/watcher.js";

/** Writes `files` (relative path → text) under `dir`, creating folders as needed. */
export function writeTree(dir: string, files: Record<string, string>) {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
}

/** A small document with words found in no other file, so a search can tell them apart. */
export const docText = (tag: string) =>
  `# ${tag}\n\nThe ledger entry ${tag.replace(/\W+/g, " ")} records a shipment of slate.\n`;

/**
 * What is left to do before the index equals the disk under `root`: files without an indexed
 * (or failed) document of their current content, documents whose file is gone, chunks whose
 * document is gone. Empty when the index is caught up.
 */
export async function indexBehindDisk(core: CoreDeps, root: string): Promise<string[]> {
  const onDisk = new Map<string, string>();
  for await (const abs of walk(root, () => {})) {
    if (formatForPath(abs) === null) {
      continue;
    }
    onDisk.set(relative(root, abs).split(sep).join("/"), createHash("sha256").update(readFileSync(abs)).digest("hex"));
  }
  const docs = new Map((await core.catalog.listDocuments(sourceIdFor(root))).map((d) => [d.path, d]));
  const behind: string[] = [];
  for (const [path, hash] of onDisk) {
    const doc = docs.get(path);
    if (!doc) {
      behind.push(`not indexed: ${path}`);
    } else if (doc.status === "failed" && !doc.error) {
      behind.push(`failed without a reason: ${path}`);
    } else if (doc.status !== "failed" && (doc.status !== "indexed" || doc.contentHash !== hash)) {
      behind.push(`out of date: ${path}`);
    }
  }
  for (const path of docs.keys()) {
    if (!onDisk.has(path)) {
      behind.push(`deleted but still indexed: ${path}`);
    }
  }
  const [orphans] = await queryRows<{ n: number }>(
    core.database.db,
    sql`SELECT count(*)::int AS n FROM chunks WHERE document_id NOT IN (SELECT id FROM documents)`,
  );
  if (orphans!.n > 0) {
    behind.push(`${orphans!.n} chunks of removed documents`);
  }
  return behind;
}

/**
 * Polls GET /status while a bulk change is taken in, until the index equals the disk. Each time
 * /status claims there is nothing left (pending 0, stale 0, unseen 0), the index is compared with
 * the disk right after: the index only moves toward the disk, so any difference found then was
 * there when /status answered, and that answer was a false "fresh".
 */
export async function watchUntilCaughtUp(opts: {
  core: CoreDeps;
  root: string;
  status: () => Promise<StatusReport>;
  timeoutMs: number;
}): Promise<{ falseFresh: string[][]; samples: number; maxUnseen: number; ms: number }> {
  const started = Date.now();
  const falseFresh: string[][] = [];
  let samples = 0;
  let maxUnseen = 0;
  for (;;) {
    const s = await opts.status();
    samples++;
    maxUnseen = Math.max(maxUnseen, s.unseen);
    const claimsFresh =
      s.documents.pending === 0 &&
      s.documents.stale === 0 &&
      s.unseen === 0 &&
      s.sources.every((x) => x.staleCheckComplete);
    // Compared with the disk only when /status claims there is nothing left: the one answer that can
    // be false. Hashing every file each round took CPU from the worker it waits for.
    if (claimsFresh) {
      const behind = await indexBehindDisk(opts.core, opts.root);
      if (behind.length === 0) {
        return { falseFresh, samples, maxUnseen, ms: Date.now() - started };
      }
      falseFresh.push(behind.slice(0, 5));
    }
    if (Date.now() - started > opts.timeoutMs) {
      const behind = await indexBehindDisk(opts.core, opts.root);
      throw new Error(
        `not caught up within ${opts.timeoutMs} ms: ${behind.slice(0, 5).join("; ") || "index equals disk, but /status is not fresh"}`,
      );
    }
    // Not faster: each /status read stats every indexed file and walks the root, CPU the worker needs too.
    await new Promise((r) => setTimeout(r, 500));
  }
}
