import { PGlite } from "@electric-sql/pglite";
import { vector } from "@electric-sql/pglite-pgvector";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";

/**
 * One PGlite served to several processes at once (a watcher and workers share a database, as they
 * share PostgreSQL in production). PGlite is a single session, so connections take turns.
 *
 * pglite-socket 0.2.17 takes turns per protocol message, and holds one connection only inside an
 * explicit transaction. That is not enough: a parameterised query is Parse, Bind, Execute, Sync,
 * and when a message is larger than one socket read (a Bind carrying embeddings), another
 * connection's Parse can run in between and replace the unnamed statement, so the first
 * connection's parameters are bound to the other's SQL (reproduced: a 400 kB insert failed with
 * "invalid input syntax for type integer" from a concurrent `SELECT $1::int`). Here a connection
 * keeps its turn until its batch ends (Sync, or a simple Query) outside a transaction, or until it
 * disconnects. Session state (advisory locks, SET) is still shared: migrate before the processes
 * start, since their migration lock cannot exclude each other in one session.
 */
export async function startSharedPglite(opts: { maxConnections: number; dataDir?: string; port?: number }) {
  const db = await PGlite.create({ ...(opts.dataDir ? { dataDir: opts.dataDir } : {}), extensions: { vector } });
  const server = new PGLiteSocketServer({
    db,
    port: opts.port ?? 0,
    host: "127.0.0.1",
    maxConnections: opts.maxConnections,
  });
  holdTurnsPerBatch(server, db);
  await server.start();
  return {
    url: `postgres://postgres:postgres@${server.getServerConn()}/postgres`,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}

interface Queued {
  handlerId: number;
  message: Uint8Array;
  resolve: (n: number) => void;
  reject: (err: unknown) => void;
  onData: (data: Uint8Array) => void;
}

/** Replaces the server's private QueryQueueManager scheduling (same fields, pglite-socket 0.2.17). */
function holdTurnsPerBatch(server: PGLiteSocketServer, db: PGlite) {
  const q = (server as unknown as { queryQueue: Record<string, any> }).queryQueue;
  if (!q || typeof q.processQueue !== "function" || !Array.isArray(q.queue)) {
    throw new Error("pglite-socket internals changed: review tests/support/shared-pglite.ts");
  }
  let owner: number | null = null;
  q.processQueue = async function processQueue(this: { queue: Queued[]; processing: boolean }) {
    if (this.processing) {
      return;
    }
    this.processing = true;
    try {
      while (this.queue.length > 0) {
        const at = owner === null ? 0 : this.queue.findIndex((m) => m.handlerId === owner);
        if (at === -1) {
          break; // the owner's next message will restart the loop
        }
        const item = this.queue.splice(at, 1)[0]!;
        let bytes = 0;
        try {
          await db.runExclusive(() =>
            db.execProtocolRawStream(item.message, {
              onRawData: (d) => {
                bytes += d.length;
                item.onData(d);
              },
            }),
          );
        } catch (err) {
          item.reject(err);
          continue;
        }
        const type = String.fromCharCode(item.message[0]!);
        const endsBatch = type === "S" || type === "Q" || item.message[0] === 0; // 0: start-up packet
        owner = endsBatch && !db.isInTransaction() ? null : item.handlerId;
        if (type === "X") {
          owner = null;
        }
        item.resolve(bytes);
      }
    } finally {
      this.processing = false;
    }
  };
  // pglite-socket calls this when a connection goes away, after dropping its queued messages.
  q.clearTransactionIfNeeded = async (id: number) => {
    if (owner === id) {
      // A client that died mid-batch or mid-transaction must not keep the turn.
      if (db.isInTransaction()) {
        await db.exec("ROLLBACK");
      }
      owner = null;
    }
    await q.processQueue();
  };
}
