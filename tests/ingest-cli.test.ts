import { execFile } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../pipelines/store/database.js";
import { createCatalog } from "../pipelines/store/catalog.js";
import { ROOT } from "./support/process.js";
import { tempDir } from "./support/temp-dir.js";

const run = promisify(execFile);
/** Runs a CLI script; resolves with its exit code and output whatever the code. */
const cli = (script: string, args: string[], env: Record<string, string> = {}) =>
  run(process.execPath, ["--import", "tsx", `services/cli/${script}.ts`, ...args], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: "", REDIS_URL: "", LOG_LEVEL: "silent", ...env },
    timeout: 120_000,
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (err: { code: number; stdout: string; stderr: string }) => ({
      code: err.code,
      stdout: err.stdout,
      stderr: err.stderr,
    }),
  );

let dataDir: string;
let dir: string;
beforeAll(() => {
  dataDir = tempDir("rag-ingest-cli-db-");
  dir = tempDir("rag-ingest-cli-");
  writeFileSync(join(dir, "owl.md"), "# Owls\n\nA barn owl hunts by sound in complete darkness.\n");
  mkdirSync(join(dir, "deep"));
  writeFileSync(join(dir, "deep", "heron.txt"), "A grey heron waits motionless at the water's edge for fish.\n");
  // Binary bytes behind a text extension: the document fails with a reason, the others index.
  writeFileSync(
    join(dir, "bad.txt"),
    Uint8Array.from({ length: 3000 }, (_, i) => (i * 131) % 256),
  );
  writeFileSync(join(dir, "ignored.bin"), "not a format the service reads");
});

describe("npm run ingest", () => {
  it("indexes a folder, lists the broken file with its reason, and exits 1", async () => {
    const r = await cli("ingest", [dir, "--collection", "birds"], { DATA_DIR: dataDir });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^3 files: 2 indexed, 1 failed$/m);
    expect(r.stdout).toMatch(/^1 failed:\n {2}bad\.txt: \w+: .+/m);
    // The progress display's final line, on stderr.
    expect(r.stderr).toMatch(/ingest {2}3 files in \d+s/);

    const db = await openDatabase({ dataDir: join(dataDir, "pglite"), poolMax: 1 });
    try {
      const docs = await createCatalog(db.db).allDocuments();
      expect(docs.map((d) => [d.path, d.status, d.collection]).sort()).toEqual([
        ["bad.txt", "failed", "birds"],
        ["deep/heron.txt", "indexed", "birds"],
        ["owl.md", "indexed", "birds"],
      ]);
    } finally {
      await db.close();
    }
  });

  it("skips what is already indexed when run again, and takes single files", async () => {
    const r = await cli("ingest", [join(dir, "owl.md")], { DATA_DIR: dataDir });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^1 file: 1 unchanged, 0 failed$/m);
  });

  it("refuses bad arguments with a message", async () => {
    const none = await cli("ingest", [], { DATA_DIR: dataDir });
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/Nothing to ingest: name at least one folder or file/);
    const missing = await cli("ingest", [join(dir, "nope")], { DATA_DIR: dataDir });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/nope: no such file or folder/);
    const format = await cli("ingest", [join(dir, "ignored.bin")], { DATA_DIR: dataDir });
    expect(format.stderr).toMatch(/ignored\.bin: not a format this service reads/);
    const collection = await cli("ingest", [dir, "--collection", "no spaces"], { DATA_DIR: dataDir });
    expect(collection.stderr).toMatch(/--collection: "no spaces" must be/);
  });
});

describe("--help", () => {
  it.each([
    ["ingest", /^npm run ingest -- <folder or file\.\.\.> \[--collection <name>\] \[--wait\]/],
    ["reindex", /^npm run reindex/],
    ["status", /^npm run status/],
  ])("%s prints its usage and exits 0", async (script, usage) => {
    const r = await cli(script, ["--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(usage);
    expect(r.stdout).toMatch(/-h --help/);
  });
});
