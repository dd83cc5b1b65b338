/**
 * PGlite files served over the PostgreSQL wire protocol, for `bench:load`'s `pg` path:
 *   tsx bench/pglite-server.ts <data dir> [port]   → prints `listening postgres://…`, stops on SIGTERM.
 * A port lets bench:faults start it again where the API's DATABASE_URL points after killing it.
 * Connections take turns per batch (tests/support/shared-pglite.ts): PGlite is one session.
 */
import { startSharedPglite } from "../tests/support/shared-pglite.js";

const dataDir = process.argv[2];
if (!dataDir) {
  throw new Error("usage: tsx bench/pglite-server.ts <data dir> [port]");
}
const port = process.argv[3] ? Number(process.argv[3]) : undefined;
const server = await startSharedPglite({ maxConnections: 100, dataDir, ...(port ? { port } : {}) });
console.log(`listening ${server.url}`);
const stop = () => void server.stop().then(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
