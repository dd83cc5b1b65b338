/**
 * Run by tests/ingest-failures.test.ts as a user whom file permissions bind (root ignores them):
 * indexes a file, makes it unreadable with chmod 000, indexes it again, and prints what happened
 * as one JSON line.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { indexFile } from "../../pipelines/ingest/index-file.js";
import { chunksOf, ingestDeps, openCore } from "./ingest.js";

const dir = mkdtempSync(join(tmpdir(), "rag-perm-"));
const opened = await openCore();
try {
  const { core } = opened;
  const sourceId = await core.catalog.upsertSource(dir, "default");
  const job = { sourceId, root: dir, collection: "default", path: "ledger.md" };
  writeFileSync(
    join(dir, "ledger.md"),
    "# Ledger\n\nThe harbour ledger records every cargo landed at the north quay.\n",
  );
  const first = await indexFile(ingestDeps(core), job);
  chmodSync(join(dir, "ledger.md"), 0o000);
  const second = await indexFile(ingestDeps(core), job);
  const doc = await core.catalog.getDocument(sourceId, "ledger.md");
  const chunks = await chunksOf(core, "ledger.md");
  const result = {
    uid: process.getuid?.(),
    first,
    second,
    doc: { status: doc?.status, errorCode: doc?.errorCode, error: doc?.error },
    chunks: chunks.map((c) => c.text),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  await opened.close();
  rmSync(dir, { recursive: true, force: true });
}
