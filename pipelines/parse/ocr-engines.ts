import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { join } from "node:path";

/** What an OCR engine read on one page image. */
export interface OcrText {
  text: string;
  /** Mean word confidence, 0-100; null when the engine found no word to score. */
  confidence: number | null;
}

/**
 * Recognises English text in page images (PNG). Every engine runs off the main thread (a child
 * process or a worker thread), and a page that takes longer than `timeoutMs` is abandoned with an
 * `OcrError` of code `ocr_timeout`: the engine behind it is killed and replaced, the service goes on.
 */
export interface OcrEngine {
  readonly name: "tesseract" | "tesseract.js";
  recognize(png: Uint8Array, timeoutMs: number): Promise<OcrText>;
  close(): Promise<void>;
}

export type OcrFailureCode = "ocr_timeout" | "ocr_failed" | "render_failed";

/** One page could not be read; the document goes on with its other pages. */
export class OcrError extends Error {
  override name = "OcrError";
  constructor(
    readonly code: OcrFailureCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** True when the `tesseract` command runs here (Debian/Ubuntu: apt-get install tesseract-ocr). */
export function tesseractCommandAvailable(): Promise<boolean> {
  return new Promise((done) => {
    const child = spawn("tesseract", ["--version"], { stdio: "ignore" });
    child.on("error", () => done(false));
    child.on("exit", (code) => done(code === 0));
  });
}

/**
 * The `tesseract` command, one process per page. OMP_THREAD_LIMIT=1 because parallelism comes from
 * running pages side by side: with OpenMP's threads on a busy two-core machine a page took 12 s
 * instead of 5.6 s (measured on dr_a_order.pdf page 1 at 300 dpi).
 */
export function createTesseractCommandEngine(opts: { language?: string } = {}): OcrEngine {
  const language = opts.language ?? "eng";
  return {
    name: "tesseract",
    recognize(png, timeoutMs) {
      return new Promise<OcrText>((done, fail) => {
        // `tsv` gives each word with its confidence and its block/paragraph/line numbers, from which
        // the text is rebuilt: one run instead of two (txt + tsv).
        const child = spawn("tesseract", ["stdin", "stdout", "-l", language, "--psm", "3", "tsv"], {
          env: { ...process.env, OMP_THREAD_LIMIT: "1" },
          stdio: ["pipe", "pipe", "pipe"],
        });
        const out: Buffer[] = [];
        let err = "";
        const timer = setTimeout(() => {
          child.kill("SIGKILL");
          fail(new OcrError("ocr_timeout", `tesseract took longer than ${timeoutMs} ms on the page`));
        }, timeoutMs);
        child.stdout.on("data", (d: Buffer) => out.push(d));
        child.stderr.on("data", (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
        child.on("error", (cause) => {
          clearTimeout(timer);
          fail(new OcrError("ocr_failed", `cannot run tesseract: ${cause.message}`, { cause }));
        });
        child.on("close", (code) => {
          clearTimeout(timer);
          if (code !== 0) {
            return fail(
              new OcrError("ocr_failed", `tesseract exited with ${code}: ${err.trim().split("\n").pop() ?? ""}`),
            );
          }
          done(fromTsv(Buffer.concat(out).toString("utf8")));
        });
        // A killed child closes its stdin; the write error is the timeout's, already reported.
        child.stdin.on("error", () => {});
        child.stdin.end(png);
      });
    },
    async close() {},
  };
}

/** Rebuilds text from tesseract's TSV: words joined by spaces, lines by newlines, paragraphs by blank lines. */
export function fromTsv(tsv: string): OcrText {
  const lines: string[] = [];
  let key = "";
  let paragraph = "";
  let current: string[] = [];
  let confSum = 0;
  let words = 0;
  const flush = () => {
    if (current.length > 0) {
      lines.push(current.join(" "));
    }
    current = [];
  };
  for (const row of tsv.split("\n").slice(1)) {
    const f = row.split("\t");
    if (f.length < 12 || f[0] !== "5") {
      continue;
    }
    const word = f.slice(11).join("\t").trim();
    const conf = Number(f[10]);
    if (word === "") {
      continue;
    }
    const para = `${f[1]}.${f[2]}.${f[3]}`;
    const line = `${para}.${f[4]}`;
    if (line !== key) {
      flush();
      if (para !== paragraph && lines.length > 0) {
        lines.push("");
      }
      key = line;
      paragraph = para;
    }
    current.push(word);
    if (Number.isFinite(conf) && conf >= 0) {
      confSum += conf;
      words++;
    }
  }
  flush();
  return { text: lines.join("\n").trim(), confidence: words > 0 ? confSum / words : null };
}

type TesseractWorker = Awaited<ReturnType<typeof import("tesseract.js").createWorker>>;

/**
 * tesseract.js (WebAssembly in worker threads) with the English LSTM model shipped by
 * @tesseract.js-data/eng: `langPath` points at the package's files and `cacheMethod: "none"`, so
 * nothing is fetched or written at run time. Up to `poolSize` workers run pages side by side; each
 * is replaced after `recycleAfter` pages (the WebAssembly heap only grows) or when a page times out.
 */
export function createTesseractJsEngine(opts: { poolSize?: number; recycleAfter?: number } = {}): OcrEngine {
  const poolSize = Math.max(1, opts.poolSize ?? 1);
  const recycleAfter = Math.max(1, opts.recycleAfter ?? 50);
  const idle: Array<{ worker: TesseractWorker; pages: number }> = [];
  const waiting: Array<() => void> = [];
  let live = 0;
  let closed = false;

  async function spawnWorker(): Promise<TesseractWorker> {
    const { createWorker, OEM } = await import("tesseract.js");
    const require = createRequire(import.meta.url);
    // index.js names the 4.0.0 folder (legacy + LSTM); the LSTM-only engine reads the smaller best_int model.
    const data = require("@tesseract.js-data/eng") as { langPath: string };
    const langPath = join(data.langPath, "..", "4.0.0_best_int");
    return createWorker("eng", OEM.LSTM_ONLY, { langPath, gzip: true, cacheMethod: "none" });
  }

  async function acquire(): Promise<{ worker: TesseractWorker; pages: number }> {
    for (;;) {
      if (closed) {
        throw new OcrError("ocr_failed", "the OCR engine is closed");
      }
      const free = idle.pop();
      if (free) {
        return free;
      }
      if (live < poolSize) {
        live++;
        try {
          return { worker: await spawnWorker(), pages: 0 };
        } catch (cause) {
          live--;
          throw new OcrError("ocr_failed", `cannot start tesseract.js: ${(cause as Error).message}`, { cause });
        }
      }
      await new Promise<void>((r) => waiting.push(r));
    }
  }

  function release(slot: { worker: TesseractWorker; pages: number } | null): void {
    if (slot && !closed && slot.pages < recycleAfter) {
      idle.push(slot);
    } else {
      live--;
      if (slot) {
        void slot.worker.terminate().catch(() => {});
      }
    }
    waiting.shift()?.();
  }

  return {
    name: "tesseract.js",
    async recognize(png, timeoutMs) {
      const slot = await acquire();
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, fail) => {
        timer = setTimeout(
          () => fail(new OcrError("ocr_timeout", `tesseract.js took longer than ${timeoutMs} ms on the page`)),
          timeoutMs,
        );
      });
      try {
        const result = await Promise.race([slot.worker.recognize(Buffer.from(png)), timeout]);
        slot.pages++;
        release(slot);
        const words = result.data.text.trim();
        return { text: words, confidence: words === "" ? null : result.data.confidence };
      } catch (cause) {
        // A timed-out or crashed worker may still be busy inside WebAssembly: terminate, never reuse.
        void slot.worker.terminate().catch(() => {});
        release(null);
        if (cause instanceof OcrError) {
          throw cause;
        }
        throw new OcrError(
          "ocr_failed",
          `tesseract.js failed on the page: ${(cause as Error)?.message ?? String(cause)}`,
          { cause },
        );
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      closed = true;
      const all = idle.splice(0);
      live -= all.length;
      await Promise.all(all.map((s) => s.worker.terminate().catch(() => {})));
      for (const w of waiting.splice(0)) {
        w();
      }
    },
  };
}
