import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { OcrError } from "./ocr-engines.js";

/** One PDF opened for rendering; pages are rendered one at a time, each within `timeoutMs`. */
export interface OpenedPdf {
  /** A grayscale or colour PNG of the 1-based `page` at `dpi`. */
  render(page: number, dpi: number, timeoutMs: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** Turns PDF pages into images for OCR, off the main thread. */
export interface PageRenderer {
  readonly name: "pdftoppm" | "pdfjs";
  open(pdf: Uint8Array): Promise<OpenedPdf>;
}

/** True when poppler's `pdftoppm` runs here (Debian/Ubuntu: apt-get install poppler-utils). */
export function pdftoppmAvailable(): Promise<boolean> {
  return new Promise((done) => {
    const child = spawn("pdftoppm", ["-v"], { stdio: "ignore" });
    child.on("error", () => done(false));
    child.on("exit", (code) => done(code === 0));
  });
}

/**
 * poppler's `pdftoppm`, one process per page: about ten times faster than pdf.js on scans (a 1200
 * dpi CCITT page of dr_a_order.pdf: 2.3 s against 20 s), as poppler decodes images natively.
 */
export function createPdftoppmRenderer(): PageRenderer {
  return {
    name: "pdftoppm",
    async open(pdf) {
      const dir = await mkdtemp(join(tmpdir(), "rag-ocr-"));
      const file = join(dir, "document.pdf");
      await writeFile(file, pdf);
      return {
        render: (page, dpi, timeoutMs) => runPdftoppm(file, page, dpi, timeoutMs),
        close: () => rm(dir, { recursive: true, force: true }),
      };
    },
  };
}

function runPdftoppm(file: string, page: number, dpi: number, timeoutMs: number): Promise<Uint8Array> {
  return new Promise((done, fail) => {
    const args = ["-f", String(page), "-l", String(page), "-r", dpi.toFixed(2), "-gray", "-png", file];
    const child = spawn("pdftoppm", args, { stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    let err = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      fail(new OcrError("ocr_timeout", `rendering page ${page} took longer than ${timeoutMs} ms`));
    }, timeoutMs);
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
    child.on("error", (cause) => {
      clearTimeout(timer);
      fail(new OcrError("render_failed", `cannot run pdftoppm: ${cause.message}`, { cause }));
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      const png = Buffer.concat(out);
      if (code !== 0 || png.length === 0) {
        return fail(
          new OcrError(
            "render_failed",
            `pdftoppm could not render page ${page}: ${err.trim().split("\n").pop() || `exit ${code}`}`,
          ),
        );
      }
      done(new Uint8Array(png));
    });
  });
}

/**
 * pdf.js (bundled with pdf-parse) with @napi-rs/canvas, in a worker thread per opened document:
 * always available, as both ship in npm. A page that times out terminates the thread; the next
 * page starts a new one.
 */
export function createPdfjsRenderer(): PageRenderer {
  const script = new URL("./pdf-render-thread.mjs", import.meta.url);
  return {
    name: "pdfjs",
    async open(pdf) {
      let worker: Worker | null = null;
      let nextId = 0;
      const pending = new Map<number, { done: (png: Uint8Array) => void; fail: (e: Error) => void }>();
      const start = () => {
        const w = new Worker(script, { workerData: { pdf } });
        w.on("message", (msg: { id: number; png?: Uint8Array; error?: string }) => {
          const p = pending.get(msg.id);
          pending.delete(msg.id);
          if (msg.png) {
            p?.done(msg.png);
          } else {
            p?.fail(new OcrError("render_failed", `pdf.js could not render the page: ${msg.error}`));
          }
        });
        const crash = (why: string) => {
          if (worker === w) {
            worker = null;
          }
          for (const p of pending.values()) {
            p.fail(new OcrError("render_failed", why));
          }
          pending.clear();
        };
        w.on("error", (e) => crash(`the pdf.js render thread failed: ${e.message}`));
        w.on("exit", (code) => crash(`the pdf.js render thread exited (${code})`));
        return w;
      };
      return {
        render(page, dpi, timeoutMs) {
          worker ??= start();
          const w = worker;
          const id = nextId++;
          return new Promise<Uint8Array>((done, fail) => {
            const timer = setTimeout(() => {
              pending.delete(id);
              if (worker === w) {
                worker = null;
              }
              void w.terminate();
              fail(new OcrError("ocr_timeout", `rendering page ${page} took longer than ${timeoutMs} ms`));
            }, timeoutMs);
            pending.set(id, {
              done: (png) => {
                clearTimeout(timer);
                done(png);
              },
              fail: (e) => {
                clearTimeout(timer);
                fail(e);
              },
            });
            w.postMessage({ id, page, scale: dpi / 72 });
          });
        },
        async close() {
          const w = worker;
          worker = null;
          if (w) {
            await w.terminate();
          }
        },
      };
    },
  };
}
