import { Worker } from "node:worker_threads";

/**
 * A fixed set of worker threads that each load a model and embed batches of texts, so embedding
 * runs beside the main thread (parsing, chunking, database writes, HTTP) instead of blocking it.
 * Speaks the protocol of use-lite-thread.mjs. A thread that dies fails only the batch it held,
 * with an error saying so, and is replaced; queued batches wait for the replacement.
 */
export interface EmbedThreadPool {
  readonly size: number;
  /**
   * Embeds one batch on the next free thread. `front` puts it ahead of the batches waiting: a
   * question's embedding must not wait behind every chunk of a large document being ingested.
   * `background` (work nobody waits for: quality metrics) goes after everything else, and only to
   * an idle thread, so a question arriving meanwhile waits for at most one such batch. Among front
   * batches, `followUp` ones (an answer's later steps) go first: answers under way finish before
   * new ones start, which keeps the slowest answers near the typical one under load.
   */
  run(texts: string[], opts?: RunOptions): Promise<number[][]>;
  close(): Promise<void>;
}

export interface RunOptions {
  front?: boolean | undefined;
  /** With `front`: a later step of an answer already under way, ahead of new questions' texts. */
  followUp?: boolean | undefined;
  background?: boolean | undefined;
}

/** Queue order: follow-ups, then new questions (both "front"), then the rest, then background work. */
const rankOf = (o: RunOptions) => (o.background ? 3 : !o.front ? 2 : o.followUp ? 0 : 1);

interface Task {
  texts: string[];
  /** 0-1: front (a question's texts; such tasks may share one forward pass), 2: the rest, 3: background. */
  rank: number;
  /** Queued ahead of the rest (a question's texts): such tasks may share one forward pass. */
  front: boolean;
  background: boolean;
  resolve(v: number[][]): void;
  reject(e: Error): void;
}

/** What one message to a thread carries: one task, or several small front tasks merged. */
interface Sent {
  texts: string[];
  tasks: Task[];
}

interface Slot {
  index: number;
  worker: Worker;
  ready: boolean;
  /** Batches sent to the thread and not answered yet, by message id. */
  sent: Map<number, Sent>;
}

type Reply =
  | { type: "ready" }
  | { type: "failed"; message: string }
  | { id: number; vectors: Float32Array; dimensions: number }
  | { id: number; error: string };

// A thread that fails to load the model this many times in a row will not load it: stop trying
// and fail every batch with the reason, rather than spin restarting it.
const MAX_START_FAILURES = 3;
// Front tasks (questions, an answer's few sentences) waiting together go to a thread as one batch
// of at most this many texts: a forward pass of USE-Lite costs mostly a fixed amount, so under load
// (50 clients) several questions embed for little more than one. Never merged with ingestion's
// batches (long chunks), so a question never waits for a document's pass.
const MERGE_MAX_TEXTS = 8;
// Batches in a thread's hands at once: the one it embeds and the next, so it starts that one
// without waiting for the main thread (busy with a parse or a PGlite query) to answer its message.
// Measured on 2 busy cores, one in hand left the thread idle half the time.
const SENT_PER_THREAD = 2;

export async function createEmbedThreadPool(opts: {
  size: number;
  script: URL;
  name: string;
  /** Handed to each thread as `workerData` (use-lite-thread.mjs reads `nice`). */
  workerData?: unknown;
}): Promise<EmbedThreadPool> {
  const slots: Array<Slot | undefined> = [];
  const queue: Task[] = [];
  let closed = false;
  let fatal: Error | undefined;
  let startFailures = 0;
  let nextId = 1;

  function failAll(err: Error) {
    fatal = err;
    for (const task of queue.splice(0)) {
      task.reject(err);
    }
  }

  /** Starts thread `index`; resolves when its model is loaded, rejects when it cannot load. */
  function spawn(index: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const worker = new Worker(opts.script, { name: `${opts.name}-${index}`, workerData: opts.workerData });
      const slot: Slot = { index, worker, ready: false, sent: new Map() };
      slots[index] = slot;
      worker.on("message", (msg: Reply) => {
        if ("type" in msg) {
          if (msg.type === "ready") {
            // Idle threads must not keep a finished CLI or test process alive; dispatch() refs a busy
            // one. A loading one stays ref'd, or a process awaiting only the model would exit.
            worker.unref();
            slot.ready = true;
            startFailures = 0;
            resolve();
            dispatch();
          } else {
            void worker.terminate();
            reject(new Error(`${opts.name} thread ${index} could not load the model: ${msg.message}`));
          }
          return;
        }
        const sent = slot.sent.get(msg.id);
        if (!sent) {
          return;
        }
        slot.sent.delete(msg.id);
        if (slot.sent.size === 0) {
          worker.unref();
        }
        if ("error" in msg) {
          for (const task of sent.tasks) {
            task.reject(new Error(`${opts.name} thread ${index}: ${msg.error}`));
          }
        } else {
          const rows: number[][] = [];
          for (let i = 0; i < msg.vectors.length; i += msg.dimensions) {
            rows.push(Array.from(msg.vectors.subarray(i, i + msg.dimensions)));
          }
          let at = 0;
          for (const task of sent.tasks) {
            task.resolve(rows.slice(at, (at += task.texts.length)));
          }
        }
        dispatch();
      });
      worker.on("error", (err) => onExit(slot, err));
      worker.on("exit", (code) => onExit(slot, new Error(`exited with code ${code}`)));
      function onExit(s: Slot, why: Error) {
        if (slots[index] !== s) {
          return; // already replaced ('error' is followed by 'exit')
        }
        slots[index] = undefined;
        const lost = [...s.sent.values()].flatMap((m) => m.tasks);
        s.sent.clear();
        // A thread that never loaded is retried by whoever awaited spawn(): respawn() or start-up.
        if (!s.ready) {
          return reject(new Error(`${opts.name} thread ${index} stopped while loading the model: ${why.message}`));
        }
        if (closed) {
          return lost.forEach((t) => t.reject(new Error(`${opts.name} embedder closed before the batch was embedded`)));
        }
        // Only the batches the thread held are lost; the caller's retry (the job queue's) repeats them.
        for (const t of lost) {
          t.reject(
            new Error(
              `${opts.name} thread ${index} crashed while embedding ${t.texts.length} texts (${why.message}); it is restarted`,
            ),
          );
        }
        respawn(index);
      }
    });
  }

  function respawn(index: number) {
    spawn(index).catch((err: Error) => {
      if (closed) {
        return;
      }
      if (++startFailures >= MAX_START_FAILURES) {
        failAll(err);
      } else {
        respawn(index);
      }
    });
  }

  /** Hands waiting batches to threads, the least loaded first, up to SENT_PER_THREAD each. */
  function dispatch() {
    for (let depth = 0; depth < SENT_PER_THREAD; depth++) {
      for (const slot of slots) {
        if (!slot?.ready || slot.sent.size > depth || queue.length === 0) {
          continue;
        }
        // Background work goes to idle threads only (the queue is ordered: it is all that is left).
        if (depth > 0 && queue[0]!.background) {
          continue;
        }
        const first = queue.shift()!;
        const sent: Sent = { texts: [...first.texts], tasks: [first] };
        while (first.front && queue[0]?.front && sent.texts.length + queue[0].texts.length <= MERGE_MAX_TEXTS) {
          const next = queue.shift()!;
          sent.tasks.push(next);
          sent.texts.push(...next.texts);
        }
        const id = nextId++;
        slot.sent.set(id, sent);
        slot.worker.ref();
        slot.worker.postMessage({ id, texts: sent.texts });
      }
    }
  }

  try {
    await Promise.all(Array.from({ length: opts.size }, (_, i) => spawn(i)));
  } catch (err) {
    closed = true;
    await Promise.all(slots.map((s) => s?.worker.terminate()));
    throw err;
  }

  return {
    size: opts.size,
    run(texts, runOpts = {}) {
      if (closed) {
        return Promise.reject(new Error(`${opts.name} embedder is closed`));
      }
      if (fatal) {
        return Promise.reject(fatal);
      }
      return new Promise((resolve, reject) => {
        // By rank, first come first served within one.
        const rank = rankOf(runOpts);
        const at = queue.findIndex((t) => t.rank > rank);
        queue.splice(at === -1 ? queue.length : at, 0, {
          texts,
          rank,
          front: rank <= 1,
          background: rank === 3,
          resolve,
          reject,
        });
        dispatch();
      });
    },
    async close() {
      if (closed) {
        return;
      }
      closed = true;
      for (const task of queue.splice(0)) {
        task.reject(new Error(`${opts.name} embedder closed before the batch was embedded`));
      }
      await Promise.all(slots.map((s) => s?.worker.terminate()));
    },
  };
}
