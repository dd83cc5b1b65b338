import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { closeServer, listen } from "../services/api/server.js";
import { createLogger } from "../services/common/log.js";
import { renderStatus } from "../services/cli/status-table.js";
import { openCore } from "./support/ingest.js";
import { startPipeline } from "./support/pipeline.js";
import { freePort, ROOT } from "./support/process.js";
import { tempDir } from "./support/temp-dir.js";

const run = promisify(execFile);
const cli = (args: string[], env: Record<string, string>) =>
  run(process.execPath, ["--import", "tsx", "services/cli/status.ts", ...args], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: "", REDIS_URL: "", LOG_LEVEL: "silent", ...env },
    timeout: 30_000,
  });

let dataDir: string;
let dir: string;

beforeAll(async () => {
  dataDir = tempDir("rag-status-cli-db-");
  dir = tempDir("rag-status-cli-");
  writeFileSync(join(dir, "owl.md"), "# Owls\n\nA barn owl hunts by sound in complete darkness.\n");
  writeFileSync(
    join(dir, "bad.txt"),
    Uint8Array.from({ length: 3000 }, (_, i) => (i * 131) % 256),
  );
  const opened = await openCore({ dataDir });
  const p = await startPipeline(opened.core, [dir]);
  await p.queue.idle();
  await p.stop();
  await opened.close();
});

describe("npm run status", () => {
  it("--help says where it reads from", async () => {
    const { stdout } = await cli(["--help"], { DATA_DIR: dataDir });
    expect(stdout).toMatch(/--json/);
    expect(stdout).toMatch(/GET \/status/);
  });

  it("reads a stopped service's PGlite database directly: table and --json", async () => {
    const { stdout } = await cli(["--json"], { DATA_DIR: dataDir });
    const report = JSON.parse(stdout);
    expect(report.documents).toEqual({ indexed: 1, pending: 0, failed: 1, stale: 0 });
    expect(report.sources[0]).toMatchObject({ root: dir, documents: { indexed: 1, failed: 1, stale: 0 } });
    expect(report.queue).toBeNull();
    const table = (await cli([], { DATA_DIR: dataDir })).stdout;
    expect(table).toMatch(/documents: 1 indexed, 0 pending, 1 failed, 0 stale/);
    expect(table).toMatch(/SOURCE\s+ROOT\s+COLLECTION\s+INDEXED\s+PENDING\s+FAILED\s+STALE\s+LAG/);
    expect(table).toContain(dir);
  });

  it("asks the running service over HTTP while it holds the PGlite database", async () => {
    const opened = await openCore({ dataDir });
    const p = await startPipeline(opened.core, [dir]);
    const port = await freePort();
    const server = await listen(p.app.fetch, port, "127.0.0.1");
    try {
      await p.queue.idle();
      const { stdout } = await cli(["--json"], { DATA_DIR: dataDir, PORT: String(port) });
      const report = JSON.parse(stdout);
      expect(report.documents).toMatchObject({ indexed: 1, failed: 1 });
      // Only the service knows its queue: that is how we know the answer came over HTTP.
      expect(report.queue).toMatchObject({ waiting: 0, active: 0 });
    } finally {
      await closeServer(server);
      await p.stop();
      await opened.close();
    }
  });

  it("a missing database is a clear error", async () => {
    const empty = tempDir("rag-status-none-");
    const err = await cli([], { DATA_DIR: empty }).catch((e: { code: number; stderr: string }) => e);
    expect(err).toMatchObject({ code: 1 });
    expect((err as { stderr: string }).stderr).toMatch(/No database in/);
  });

  it("renders lag, unseen files and incomplete stale checks", () => {
    const now = Date.parse("2026-01-01T12:00:00Z");
    const out = renderStatus(
      {
        generation: null,
        reindex: null,
        lastFailedReindex: null,
        modelMismatch: null,
        documents: { indexed: 5, pending: 1, failed: 0, stale: 2 },
        unseen: 3,
        freshnessLagMs: 95_000,
        textLayers: {
          documents: { native: 4, mixed: 1 },
          pages: { native: 30, ocr: 3, none: 1 },
          pagesWithoutText: { ocr_empty: 1 },
          meanOcrConfidence: 88.4,
        },
        sources: [
          {
            id: "src_1",
            root: "/docs",
            collection: "default",
            documents: { indexed: 5, pending: 1, failed: 0, stale: 2 },
            unseen: 3,
            lastScanAt: new Date(now - 3_600_000),
            lastEventAt: null,
            freshnessLagMs: 95_000,
            oldestPendingAt: null,
            oldestStaleAt: null,
            oldestUnseenAt: new Date(now - 95_000),
            staleCheckComplete: false,
          },
        ],
        queue: { waiting: 3, active: 1, failed: 0, error: null },
        workers: [{ name: "host-1", ageSeconds: 100, idleSeconds: 2 }],
      },
      now,
    );
    expect(out).toMatch(/freshness lag: 1m35s/);
    expect(out).toMatch(/PDF pages: 30 native, 3 OCR.d, mean OCR confidence 88, 1 without text \(1 ocr_empty\)/);
    expect(out).toMatch(/queue: 3 waiting, 1 active, 0 failed/);
    expect(out).toMatch(/workers: host-1 \(idle 2s\)/);
    expect(out).toMatch(/unseen files: 3\+/);
    expect(out).toMatch(/src_1\s+\/docs\s+default\s+5\s+1\s+0\s+2\+\s+1m35s\s+1h0m ago\s+never\s+3\+/);
  });
});

describe("request logs", () => {
  it("one JSON line per request, carrying the request id", async () => {
    const lines: string[] = [];
    const log = createLogger("info", { service: "api" }, { write: (s: string) => void lines.push(s) });
    const opened = await openCore();
    try {
      const { createApp } = await import("../services/api/app.js");
      const { createExtractiveGenerator } = await import("../pipelines/generate/extractive.js");
      const { apiConfig } = await import("./support/pipeline.js");
      const app = createApp({ config: apiConfig, log, generator: createExtractiveGenerator(), core: opened.core });
      await app.request("/documents/nope", { headers: { "x-request-id": "req-abc-123" } });
      const entries = lines.map((l) => JSON.parse(l));
      const entry = entries.find((e) => e.msg === "request");
      expect(entry).toMatchObject({
        level: "info",
        service: "api",
        requestId: "req-abc-123",
        method: "GET",
        path: "/documents/nope",
        route: "/documents/:id",
        status: 404,
      });
      expect(new Date(entry.time).toISOString()).toBe(entry.time);
    } finally {
      await opened.close();
    }
  });
});
