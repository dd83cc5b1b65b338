import { spawn } from "node:child_process";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { sourceIdFor } from "../pipelines/store/catalog.js";
import { ROOT } from "./support/process.js";
import { chunksOf, openCore } from "./support/ingest.js";
import { makePdf } from "./support/pdf.js";
import { startPipeline, waitFor } from "./support/pipeline.js";
import { tempDir } from "./support/temp-dir.js";

const ENCRYPTED = new URL("./fixtures/encrypted.pdf", import.meta.url).pathname;
const text = (s: string) => new TextEncoder().encode(s);

// Each file starts good (one distinct fact) and is then broken in one way.
const CASES: Array<{ path: string; good: Uint8Array; bad: () => Uint8Array; code: string; says: RegExp }> = [
  {
    path: "empty.md",
    good: text("# Kilns\n\nA kiln for stoneware is fired to about 1280 degrees Celsius.\n"),
    bad: () => new Uint8Array(),
    code: "empty_document",
    says: /empty/,
  },
  {
    path: "binary.txt",
    good: text("Quince paste is cooked for hours until it turns deep amber and sets firm.\n"),
    bad: () => Uint8Array.from({ length: 3000 }, (_, i) => (i * 131) % 256),
    code: "binary_content",
    says: /binary/,
  },
  {
    path: "latin1.md",
    good: text("# Harbour\n\nThe harbour crane at Tromsø lifts forty tonnes at full reach.\n"),
    bad: () => Uint8Array.from(Buffer.from("# Harbour\n\nThe caf\xe9 on the quay opens at six.\n", "latin1")),
    code: "invalid_encoding",
    says: /not valid UTF-8/,
  },
  {
    path: "huge.txt",
    good: text("The glacier above the fjord retreated nine hundred metres in a decade.\n"),
    bad: () => text("The glacier grew. ".repeat(70_000)),
    code: "file_too_large",
    says: /MAX_FILE_BYTES/,
  },
  {
    path: "corrupt.pdf",
    good: makePdf(["The lighthouse lens was ground from forty-two prisms of crown glass."]),
    bad: () => makePdf(["This version is cut short."]).subarray(0, 200),
    code: "corrupt_file",
    says: /not a readable PDF/,
  },
  {
    path: "locked.pdf",
    good: makePdf(["Saffron crocuses flower in October and are picked before dawn."]),
    bad: () => readFileSync(ENCRYPTED),
    code: "encrypted_file",
    says: /password/,
  },
  {
    path: "scanned.pdf",
    good: makePdf(["The ferry timetable doubles its sailings between June and August."]),
    // A page with neither a text layer nor anything OCR can read: reported, not indexed as empty.
    bad: () => makePdf(["", ""]),
    code: "no_text_layer",
    says: /OCR found no text/,
  },
];

describe("bad input", () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    while (cleanups.length) {
      await cleanups.pop()!();
    }
  });

  it("marks each broken file failed with its reason, keeps its last good version searchable, and carries on", async () => {
    const dir = tempDir("rag-bad-");
    const { core, embedder, close } = await openCore();
    const pipeline = await startPipeline(core, [dir]);
    cleanups.push(close, () => pipeline.stop());
    const sourceId = sourceIdFor(dir);
    for (const c of CASES) {
      writeFileSync(join(dir, c.path), c.good);
    }
    await waitFor(async () => (await core.catalog.countDocuments()).indexed === CASES.length, 60_000);
    const good = new Map(await Promise.all(CASES.map(async (c) => [c.path, await chunksOf(core, c.path)] as const)));

    for (const c of CASES) {
      writeFileSync(join(dir, c.path), c.bad());
    }
    await waitFor(async () => (await core.catalog.countDocuments()).failed === CASES.length, 60_000);
    for (const c of CASES) {
      const doc = await core.catalog.getDocument(sourceId, c.path);
      expect({ path: c.path, status: doc?.status, code: doc?.errorCode }).toEqual({
        path: c.path,
        status: "failed",
        code: c.code,
      });
      expect(doc?.error).toMatch(c.says);
      expect(doc?.error).toContain(c.path);
      expect(await chunksOf(core, c.path)).toEqual(good.get(c.path));
    }

    const kiln = await pipeline.ask("How hot is a stoneware kiln fired?");
    expect(kiln.body.citations.map((c: { path: string }) => c.path)).toContain("empty.md");
    const lens = await pipeline.ask("How many prisms is the lighthouse lens ground from?");
    expect(lens.body.citations.map((c: { path: string }) => c.path)).toContain("corrupt.pdf");

    // The worker is still taking jobs; restoring a good version needs no new embeddings.
    const embeddedBefore = embedder.texts.length;
    writeFileSync(join(dir, "fresh.md"), "# Bells\n\nThe harbour bell is rung twice when fog closes the channel.\n");
    writeFileSync(join(dir, "locked.pdf"), CASES.find((c) => c.path === "locked.pdf")!.good);
    await waitFor(async () => (await core.catalog.countDocuments()).indexed === 2, 30_000);
    expect(embedder.texts.length).toBe(embeddedBefore + 1);
    expect(await core.catalog.getDocument(sourceId, "locked.pdf")).toMatchObject({
      status: "indexed",
      errorCode: null,
      error: null,
    });
  }, 120_000);

  it("marks an unreadable file permission_denied and keeps its chunks (run as a user that permissions bind)", async (ctx) => {
    // Root reads a chmod 000 file regardless (CAP_DAC_OVERRIDE), so a real EACCES needs another
    // user: as root the scenario runs in a child process as `nobody`.
    const probe = join(tempDir("rag-probe-"), "p.txt");
    writeFileSync(probe, "x");
    chmodSync(probe, 0o000);
    const permissionsBind = (() => {
      try {
        readFileSync(probe);
        return false;
      } catch {
        return true;
      }
    })();
    const asNobody = !permissionsBind && process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    const child = spawn(process.execPath, ["--import", "tsx", "tests/support/permission-child.ts"], {
      cwd: ROOT,
      env: { ...process.env, HOME: tmpdir() },
      stdio: ["ignore", "pipe", "pipe"],
      ...asNobody,
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    const code = await new Promise<number | null | Error>((resolve) => {
      child.once("exit", resolve);
      child.once("error", resolve);
    });
    // A container without CAP_SETUID cannot start a process as another user; nothing else can show EACCES to root.
    if (code instanceof Error) {
      return ctx.skip(`cannot run a process as another user here: ${code.message}`);
    }
    expect(code, err).toBe(0);
    const result = JSON.parse(out.trim().split("\n").pop()!);
    expect(result.uid).not.toBe(0);
    expect(result.first.status).toBe("indexed");
    expect(result.second).toMatchObject({ status: "failed", code: "permission_denied" });
    expect(result.doc).toMatchObject({ status: "failed", errorCode: "permission_denied" });
    expect(result.doc.error).toContain("ledger.md");
    expect(result.chunks).toEqual([expect.stringContaining("north quay")]);
  }, 60_000);
});
