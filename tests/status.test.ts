import { unlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StatusReport } from "../services/common/status-report.js";
import { openCore } from "./support/ingest.js";
import { startPipeline, waitFor } from "./support/pipeline.js";
import { tempDir } from "./support/temp-dir.js";

type Opened = Awaited<ReturnType<typeof openCore>>;
let opened: Opened;
let pipeline: Awaited<ReturnType<typeof startPipeline>>;
let dir: string;

const KILN = "# Kilns\n\nA kiln for stoneware is fired to about 1280 degrees Celsius.\n";
const QUINCE = "Quince paste is cooked for hours until it turns deep amber and sets firm.\n";
const BINARY = Uint8Array.from({ length: 3000 }, (_, i) => (i * 131) % 256);

async function status(): Promise<StatusReport> {
  const res = await pipeline.app.request("/status");
  expect(res.status).toBe(200);
  return (await res.json()) as StatusReport;
}
const source = async () => (await status()).sources[0]!;

beforeAll(async () => {
  dir = tempDir("rag-status-");
  writeFileSync(join(dir, "kiln.md"), KILN);
  writeFileSync(join(dir, "quince.txt"), QUINCE);
  opened = await openCore();
  pipeline = await startPipeline(opened.core, [dir]);
  await pipeline.queue.idle();
});
afterAll(async () => {
  await pipeline.stop();
  await opened.close();
});

describe("GET /status follows the folder", () => {
  it("after the start-up scan: everything indexed, nothing stale, no lag, queue empty", async () => {
    const s = await status();
    expect(s.generation?.id).toBeGreaterThan(0);
    expect(s.documents).toEqual({ indexed: 2, pending: 0, failed: 0, stale: 0 });
    expect(s.freshnessLagMs).toBe(0);
    expect(s.queue).toMatchObject({ waiting: 0, active: 0, failed: 0 });
    expect(s.workers).toBeNull(); // the in-process queue has no separate workers
    expect(s.sources).toHaveLength(1);
    const src = s.sources[0]!;
    expect(src).toMatchObject({
      root: dir,
      collection: "default",
      documents: { indexed: 2, pending: 0, failed: 0, stale: 0 },
    });
    expect(src.id).toMatch(/^src_/);
    expect(Date.now() - new Date(src.lastScanAt!).getTime()).toBeLessThan(30_000);
    expect(src.freshnessLagMs).toBe(0);
    expect(src.staleCheckComplete).toBe(true);
  });

  it("a new file is pending while the worker embeds it, with the lag of its pending row", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let entered = false;
    opened.embedder.onEmbed = async () => {
      entered = true;
      await gate;
    };
    try {
      writeFileSync(join(dir, "glaze.md"), "# Glazes\n\nA celadon glaze turns green in a reduction firing.\n");
      await waitFor(async () => entered, 15_000);
      const before = Date.now();
      const src = await source();
      expect(src.documents.pending).toBe(1);
      const pendingAt = new Date(src.oldestPendingAt!).getTime();
      // The lag is the age of that pending row at the time of the request.
      expect(src.freshnessLagMs).toBeGreaterThanOrEqual(before - pendingAt - 50);
      expect(src.freshnessLagMs).toBeLessThanOrEqual(Date.now() - pendingAt + 50);
      expect(Date.now() - new Date(src.lastEventAt!).getTime()).toBeLessThan(30_000);
    } finally {
      opened.embedder.onEmbed = undefined;
      release();
    }
    await pipeline.queue.idle();
    expect((await source()).documents).toEqual({ indexed: 3, pending: 0, failed: 0, stale: 0 });
    expect((await status()).freshnessLagMs).toBe(0);
  });

  it("a binary .txt file is failed, and /documents says why", async () => {
    writeFileSync(join(dir, "broken.txt"), BINARY);
    await waitFor(async () => (await source()).documents.failed === 1, 15_000);
    await pipeline.queue.idle();
    expect((await source()).documents).toMatchObject({ indexed: 3, failed: 1, pending: 0 });
    const res = await pipeline.app.request("/documents?status=failed");
    const body = (await res.json()) as { documents: Array<{ path: string; errorCode: string; error: string }> };
    expect(body.documents).toHaveLength(1);
    expect(body.documents[0]).toMatchObject({ path: "broken.txt", errorCode: "binary_content" });
    expect(body.documents[0]!.error).toMatch(/binary/);
  });

  it("edits and deletions made while nobody watches are stale, with the lag of the edit, until a scan catches up", async () => {
    await pipeline.watcher.close();
    const docs = (await (await pipeline.app.request("/documents?status=indexed")).json()) as {
      documents: Array<{ path: string; indexedAt: string }>;
    };
    const kilnIndexedAt = new Date(docs.documents.find((d) => d.path === "kiln.md")!.indexedAt).getTime();
    // A known edit time after the indexing (and not in the future), so the expected lag is exact.
    const mtime = new Date(kilnIndexedAt + 1000);
    await waitFor(async () => Date.now() > mtime.getTime() + 100, 5_000);
    writeFileSync(join(dir, "kiln.md"), `${KILN}\nA kiln vents its fumes through a flue.\n`);
    utimesSync(join(dir, "kiln.md"), mtime, mtime);
    // Touched but identical content: mtime moves, the hash says it is not stale.
    const quinceTime = new Date(kilnIndexedAt + 2000);
    utimesSync(join(dir, "quince.txt"), quinceTime, quinceTime);
    unlinkSync(join(dir, "glaze.md"));

    const before = Date.now();
    const src = await source();
    const after = Date.now();
    expect(src.documents).toEqual({ indexed: 3, pending: 0, failed: 1, stale: 2 });
    expect(new Date(src.oldestStaleAt!).getTime()).toBe(mtime.getTime());
    expect(src.freshnessLagMs).toBeGreaterThanOrEqual(before - mtime.getTime());
    expect(src.freshnessLagMs).toBeLessThanOrEqual(after - mtime.getTime());
    expect((await status()).documents.stale).toBe(2);

    // The reconciliation scan (what a restart does) enqueues both changes; the worker catches up.
    await pipeline.watcher.scan();
    await pipeline.queue.idle();
    const caught = await source();
    expect(caught.documents).toEqual({ indexed: 2, pending: 0, failed: 1, stale: 0 });
    expect(caught.freshnessLagMs).toBe(0);
  });
});
