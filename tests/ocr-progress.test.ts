import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { parseDocument } from "../pipelines/parse/index.js";
import { createPdfOcr } from "../pipelines/parse/ocr.js";
import type { Logger } from "../services/common/log.js";
import { describeOcr, showOcrProgress } from "../services/common/ocr-progress.js";
import { makePdf } from "./support/pdf.js";
import { ROOT } from "./support/process.js";
import { rasterizePdf } from "./support/scanned-pdf.js";
import { tempDir } from "./support/temp-dir.js";

const run = promisify(execFile);

function recordingLog(lines: Array<[string, Record<string, unknown> | undefined]>): Logger {
  const log: Logger = {
    debug: () => {},
    info: (msg, fields) => void lines.push([msg, fields]),
    warn: () => {},
    error: () => {},
    child: () => log,
  };
  return log;
}

describe("OCR progress", () => {
  const cleanups: Array<() => void | Promise<void>> = [];
  afterAll(async () => {
    while (cleanups.length) {
      await cleanups.pop()!();
    }
  });

  it("describes pages and pages per minute, and nothing when no page was OCR'd", () => {
    expect(describeOcr({ pages: 0, failed: 0, ms: 0 })).toBeNull();
    expect(describeOcr({ pages: 1, failed: 0, ms: 6000 })).toBe("1 page OCR'd, 10.0 pages/min");
    expect(describeOcr({ pages: 4, failed: 1, ms: 60_000 })).toBe("4 pages OCR'd (1 failed), 4.0 pages/min");
  });

  it("draws a line per scanned document and logs when its pages are done", async () => {
    const writes: string[] = [];
    const stream = { isTTY: false, write: (s: string) => writes.push(s) > 0 } as unknown as NodeJS.WriteStream;
    const logged: Array<[string, Record<string, unknown> | undefined]> = [];
    const ocr = createPdfOcr({ engine: "tesseract.js", renderer: "pdfjs", dpi: 100 });
    cleanups.push(() => ocr.close());
    const stop = showOcrProgress(ocr, { log: recordingLog(logged), stream });
    // Two blank pages: read, found empty, and reported as such.
    await expect(parseDocument(makePdf(["", ""]), "blank.pdf", { ocr })).rejects.toMatchObject({
      code: "no_text_layer",
    });
    stop();
    expect(writes.join("")).toMatch(/^OCR blank\.pdf {2}2 pages OCR'd, [\d.]+ pages\/min in \d+s$/m);
    expect(logged).toEqual([["OCR done", { path: "blank.pdf", pages: 2, failed: 0, ms: expect.any(Number) }]]);
  }, 120_000);

  it("npm run ingest reports the pages it OCR'd", async () => {
    const dir = tempDir("rag-ocr-cli-");
    const dataDir = tempDir("rag-ocr-cli-db-");
    writeFileSync(
      join(dir, "scan.pdf"),
      await rasterizePdf(makePdf(["The ferry to the island leaves at seven each morning."]), 150),
    );
    const r = await run(process.execPath, ["--import", "tsx", "services/cli/ingest.ts", dir], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: "", REDIS_URL: "", LOG_LEVEL: "silent", DATA_DIR: dataDir, OCR_DPI: "150" },
      timeout: 240_000,
    });
    expect(r.stdout).toMatch(/^1 file: 1 indexed, 0 failed$/m);
    expect(r.stderr).toMatch(/ingest {2}1 files, 1 page OCR'd, [\d.]+ pages\/min in \d+s/);
  }, 300_000);
});
