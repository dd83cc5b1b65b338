// Renders PDF pages to PNG with pdf.js (through pdf-parse) in a worker thread (see pdf-render.ts).
//
// Plain JavaScript for the reason use-lite-thread.mjs gives: a worker thread does not inherit the
// main thread's TypeScript loader. A thread because pdf.js decodes images in JavaScript: a 1200 dpi
// CCITT scan page took 20 s, which must not stall the API in the all-in-one process.
//
// Protocol: workerData.pdf holds the document's bytes; each {id, page, scale} message is answered
// by {id, png: Uint8Array} or {id, error}.
import { parentPort, workerData } from "node:worker_threads";
import { PDFParse } from "pdf-parse";

const port = parentPort;
if (!port) {
  throw new Error("pdf-render-thread.mjs runs only as a worker thread");
}

const parser = new PDFParse({ data: new Uint8Array(workerData.pdf) });
let chain = Promise.resolve();
port.on("message", (msg) => {
  chain = chain.then(async () => {
    try {
      const shot = await parser.getScreenshot({
        partial: [msg.page],
        scale: msg.scale,
        imageBuffer: true,
        imageDataUrl: false,
      });
      const png = shot.pages[0]?.data;
      if (!png || png.length === 0) {
        throw new Error(`page ${msg.page} rendered to nothing`);
      }
      port.postMessage({ id: msg.id, png });
    } catch (err) {
      port.postMessage({ id: msg.id, error: err instanceof Error ? err.message : String(err) });
    }
  });
});
