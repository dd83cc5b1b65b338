import { execFileSync } from "node:child_process";
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StatusReport } from "../services/common/status-report.js";
import { docText, indexBehindDisk, watchUntilCaughtUp, writeTree } from "./support/bulk.js";
import { openCore } from "./support/ingest.js";
import { startPipeline } from "./support/pipeline.js";

// Each step's bound. Generous: on a quiet machine a step takes seconds, but two cores shared by
// other work have indexed as few as 2-3 of these small files a second.
const BOUND_MS = 360_000;

let opened: Awaited<ReturnType<typeof openCore>>;
let pipeline: Awaited<ReturnType<typeof startPipeline>>;
let root: string;
const outside: string[] = [];
const scratch = (prefix: string) => {
  outside.push(mkdtempSync(join(tmpdir(), prefix)));
  return outside.at(-1)!;
};

/** Page `k` (0-499) of the manual copied in first: its text, which later steps reuse (below). */
const manualText = (k: number) => docText(`manual p${Math.floor(k / 100)} c${Math.floor(k / 10) % 10} f${k % 10}`);

async function status(): Promise<StatusReport> {
  const res = await pipeline.app.request("/status");
  expect(res.status).toBe(200);
  return (await res.json()) as StatusReport;
}

/** After a bulk change: the index catches up within BOUND_MS, and /status never called it fresh before. */
async function expectCaughtUp() {
  const r = await watchUntilCaughtUp({ core: opened.core, root, status, timeoutMs: BOUND_MS });
  expect(r.falseFresh).toEqual([]);
  expect(await indexBehindDisk(opened.core, root)).toEqual([]);
  return r;
}

const git = (cwd: string, ...args: string[]) =>
  execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false", ...args], {
    cwd,
    stdio: "pipe",
  });

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "rag-bulk-"));
  opened = await openCore();
  // No schedule: what the watcher reports, plus the reconciliation after each burst, must suffice.
  // Two jobs at once, as the service runs them (WORKER_CONCURRENCY): one is written while one embeds.
  pipeline = await startPipeline(opened.core, [root], { burstSettleMs: 300, rescanIntervalMs: 0, concurrency: 2 });
}, 240_000); // the model and a database load in seconds on a quiet machine, minutes on a crowded one
afterAll(async () => {
  await pipeline?.stop();
  await opened?.close();
  for (const d of [root, ...outside]) {
    rmSync(d, { recursive: true, force: true });
  }
});

describe("bulk changes to a watched folder, with the service running", () => {
  it("cp -r of a tree of 500 files in nested folders: every file indexed", async () => {
    const src = scratch("rag-bulk-src-");
    const files: Record<string, string> = {};
    for (let k = 0; k < 500; k++) {
      files[`manual/part-${Math.floor(k / 100)}/ch-${Math.floor(k / 10) % 10}/page-${k % 10}.md`] = manualText(k);
    }
    writeTree(src, files);
    execFileSync("cp", ["-r", join(src, "manual"), join(root, "manual")]);
    const r = await expectCaughtUp();
    // The copy was seen as work: the first samples counted unseen (or pending) files.
    expect(r.samples).toBeGreaterThan(1);
    expect((await status()).documents.indexed).toBe(500);
  }, 400_000);

  it("mv of a folder into the root: its files indexed", async () => {
    const src = scratch("rag-bulk-mv-");
    const files: Record<string, string> = {};
    for (let i = 0; i < 40; i++) {
      files[`atlas/${i % 2 ? "east" : "west"}/map-${i}.md`] = docText(`atlas map ${i}`);
    }
    writeTree(src, files);
    renameSync(join(src, "atlas"), join(root, "atlas"));
    await expectCaughtUp();
  }, 400_000);

  it("rsync-like writes (a hidden temp file, then renamed over the target): new and replaced files indexed", async () => {
    for (let i = 0; i < 20; i++) {
      // Ten replace pages of the manual, ten are new.
      const target =
        i < 10 ? join(root, "manual/part-0/ch-0", `page-${i}.md`) : join(root, "manual/part-0/ch-0", `synced-${i}.md`);
      const temp = join(root, "manual/part-0/ch-0", `.synced-${i}.md.XyZ12`);
      writeFileSync(temp, docText(`synced version ${i}`));
      renameSync(temp, target);
    }
    await expectCaughtUp();
  }, 400_000);

  it("unpacking a tar archive: every member indexed", async () => {
    const src = scratch("rag-bulk-tar-");
    const files: Record<string, string> = {};
    for (let i = 0; i < 60; i++) {
      files[`bundle/${["a", "b/c", "b/d"][i % 3]}/note-${i}.txt`] = docText(`bundle note ${i}`);
    }
    writeTree(src, files);
    const archive = join(scratch("rag-bulk-archive-"), "bundle.tar");
    execFileSync("tar", ["-cf", archive, "-C", src, "bundle"]);
    execFileSync("tar", ["-xf", archive, "-C", root]);
    await expectCaughtUp();
  }, 400_000);

  it("git clone, then git checkout to a commit that differs in 200 files: the index follows both", async () => {
    // The files hold the texts of manual pages (never part-1's, which a later test searches for once
    // deleted): every file is still parsed, chunked and written, but its chunks' embeddings are cached,
    // which is not what this test is about and was a third of its time.
    const repo = scratch("rag-bulk-repo-");
    const v1: Record<string, string> = {};
    for (let i = 0; i < 160; i++) {
      v1[`src/${["core", "docs", "docs/api", "guides"][i % 4]}/file-${i}.md`] = manualText(300 + i);
    }
    writeTree(repo, v1);
    git(repo, "init", "-q", "-b", "one");
    git(repo, "add", "-A");
    git(repo, "commit", "-q", "-m", "one");
    git(repo, "checkout", "-q", "-b", "two");
    // 120 edited, 40 deleted (all of src/guides), 40 added in a new folder.
    for (let i = 0; i < 160; i++) {
      const path = join(repo, `src/${["core", "docs", "docs/api", "guides"][i % 4]}/file-${i}.md`);
      if (i % 4 === 3) {
        rmSync(path);
      } else {
        writeFileSync(path, manualText(i < 100 ? i : 100 + i));
      }
    }
    writeTree(
      repo,
      Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`src/howto/new-${i}.md`, manualText(260 + i)])),
    );
    git(repo, "add", "-A");
    git(repo, "commit", "-q", "-m", "two");
    const diff = git(repo, "diff", "--name-only", "one", "two").toString().trim().split("\n");
    expect(diff.length).toBe(200);

    git(root, "clone", "-q", "--branch", "one", repo, "checkout");
    await expectCaughtUp();
    git(join(root, "checkout"), "checkout", "-q", "two");
    await expectCaughtUp();
    // And back: the folder deleted by "two" comes back, the added one goes.
    git(join(root, "checkout"), "checkout", "-q", "one");
    await expectCaughtUp();
  }, 1_100_000);

  it("deleting a whole sub-folder removes every document under it, none left searchable", async () => {
    rmSync(join(root, "manual/part-1"), { recursive: true });
    await expectCaughtUp();
    const docs = await opened.core.catalog.listDocuments((await status()).sources[0]!.id);
    expect(docs.filter((d) => d.path.startsWith("manual/part-1/"))).toEqual([]);
    const { body } = await pipeline.ask("Which ledger entry records manual p1 c3 f4?");
    expect(
      body.citations.map((c: { path: string }) => c.path).filter((p: string) => p.startsWith("manual/part-1/")),
    ).toEqual([]);
  }, 400_000);

  it("renaming a whole sub-folder moves every document under it", async () => {
    renameSync(join(root, "manual/part-2"), join(root, "manual/part-two"));
    await expectCaughtUp();
    const paths = (await opened.core.catalog.listDocuments((await status()).sources[0]!.id)).map((d) => d.path);
    expect(paths.filter((p) => p.startsWith("manual/part-2/"))).toEqual([]);
    expect(paths.filter((p) => p.startsWith("manual/part-two/"))).toHaveLength(100);
  }, 400_000);

  it("a folder replaced in a burst (deleted and created again at its path) is watched again", async () => {
    rmSync(join(root, "atlas"), { recursive: true });
    writeTree(root, { "atlas/east/map-1.md": docText("atlas rebuilt 1") });
    await expectCaughtUp();
    // chokidar alone would keep the deleted folder's watch: a file written now would never be reported.
    await pipeline.watcher.settled();
    writeTree(root, { "atlas/east/map-2.md": docText("atlas rebuilt 2") });
    await expectCaughtUp();
  }, 400_000);
});
