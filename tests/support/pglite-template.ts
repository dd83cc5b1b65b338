import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase } from "../../pipelines/store/database.js";

const MIGRATIONS = new URL("../../migrations/", import.meta.url).pathname;
const PGLITE_PACKAGE = new URL("../../node_modules/@electric-sql/pglite/package.json", import.meta.url).pathname;

let template: Promise<Blob> | undefined;

/**
 * A PGlite data directory with every migration applied, to start test databases from: initdb is
 * most of a new PGlite's start-up (seconds each, on a busy machine tens of seconds), and the suite
 * opens hundreds. Built once per machine and migration set (keyed by the migrations' bytes and
 * PGlite's version), kept in the temp folder, and loaded once per test process.
 */
export function migratedTemplate(): Promise<Blob> {
  template ??= loadOrBuild();
  return template;
}

async function loadOrBuild(): Promise<Blob> {
  const hash = createHash("sha256").update(readFileSync(PGLITE_PACKAGE));
  for (const name of readdirSync(MIGRATIONS).sort()) {
    hash.update(name).update(readFileSync(join(MIGRATIONS, name)));
  }
  const file = join(tmpdir(), `rag-pglite-template-${hash.digest("hex").slice(0, 16)}.tar`);
  if (existsSync(file)) {
    return new Blob([readFileSync(file)]);
  }
  const database = await openDatabase({});
  try {
    await database.migrate();
    const dump = await database.dumpDataDir!();
    // Written aside and renamed: test processes building it at once each leave a whole file.
    const partial = `${file}.${process.pid}.partial`;
    writeFileSync(partial, new Uint8Array(await dump.arrayBuffer()));
    renameSync(partial, file);
    return dump;
  } finally {
    await database.close();
  }
}
