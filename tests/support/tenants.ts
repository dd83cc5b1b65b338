import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createExtractiveGenerator } from "../../pipelines/generate/extractive.js";
import { createApp } from "../../services/api/app.js";
import type { ApiConfig, ApiDeps } from "../../services/api/context.js";
import { closeServer, listen } from "../../services/api/server.js";
import { adminActions } from "../../services/common/admin.js";
import { type HashedKey, parseApiKeys } from "../../services/common/api-keys.js";
import { createInProcessQueue } from "../../services/common/queue/in-process.js";
import { createSourceWatcher } from "../../services/watcher/watcher.js";
import { createWorker } from "../../services/common/ingest-worker.js";
import { makeCore, quietLog } from "./core.js";
import { apiConfig } from "./pipeline.js";
import { tempDir } from "./temp-dir.js";
import { createLexicalReranker } from "../../pipelines/rerank/lexical.js";

// Two lighthouses, each designed by a different Stevenson: "who designed it?" has no answer of
// its own, only the one its conversation's subject picks.
export const LIGHTHOUSES = {
  "skerryvore.md":
    "# Skerryvore lighthouse\n\nThe Skerryvore lighthouse stands on a reef west of Tiree and was completed in 1844.\n\n" +
    "Alan Stevenson designed the Skerryvore lighthouse, the tallest in Scotland at 48 metres.\n",
  "bell-rock.md":
    "# Bell Rock lighthouse\n\nThe Bell Rock lighthouse stands on a sandstone reef off Arbroath and was completed in 1810.\n\n" +
    "Robert Stevenson designed the Bell Rock lighthouse, the oldest sea-washed lighthouse still standing.\n",
};
// Words found only in the hr collection: in anything the sea key receives, they are a leak.
export const HR_FILES = {
  "leave.md":
    "# Parental leave\n\nParental leave is twenty six weeks, approved by Ms Quillfeather in the people team.\n",
};
export const HR_MARKERS = ["Quillfeather", "leave.md", "Parental"];

export const TENANT_KEYS = {
  sea: "sea-ask-key-0123456789abcdef",
  hr: "hr-ask-key-0123456789abcdefg",
  all: "ops-all-key-0123456789abcdef",
};
export const TENANT_API_KEYS = parseApiKeys(
  `${TENANT_KEYS.sea}:ask:sea;${TENANT_KEYS.hr}:ask:hr;${TENANT_KEYS.all}:ask,admin:*`,
);

/**
 * Folders, one per collection, indexed by the real pipeline (PGlite with USE-Lite, in-process queue, worker and
 * watcher), and the API's deps over them. The folders are temp folders removed with the test file (tempDir);
 * `apiKeys` go into the deps' config; `admin` adds the admin actions. `serve` starts the app on loopback port 0.
 *
 * @example const t = await indexedCollections({ files: { hr: { "leave.md": "# Leave" } } }); t.dirs.hr
 */
export async function indexedCollections(opts: {
  files: Record<string, Record<string, string>>;
  apiKeys?: readonly HashedKey[];
  admin?: boolean;
}) {
  const dirs: Record<string, string> = {};
  for (const [collection, files] of Object.entries(opts.files)) {
    const dir = tempDir(`rag-${collection}-`);
    for (const [name, text] of Object.entries(files)) {
      writeFileSync(join(dir, name), text);
    }
    dirs[collection] = dir;
  }
  const { core, cleanup } = await makeCore("pglite");
  const queue = createInProcessQueue({ backoffScale: 0.01 });
  createWorker({ core, queue, log: quietLog, maxFileBytes: 1_000_000 }).start();
  const watcher = createSourceWatcher({
    catalog: core.catalog,
    queue,
    log: quietLog,
    dirs: Object.entries(dirs).map(([collection, dir]) => ({ dir, collection })),
    collection: "default",
    maxFileBytes: 1_000_000,
    stabilityMs: 100,
  });
  await watcher.start();
  await queue.idle();
  const base: ApiDeps = {
    config: opts.apiKeys ? { ...apiConfig, API_KEYS: opts.apiKeys } : apiConfig,
    log: quietLog,
    generator: createExtractiveGenerator(),
    reranker: createLexicalReranker(),
    core,
    queue,
    ...(opts.admin && {
      admin: adminActions(
        core,
        {
          DATA_DIR: "unused",
          DATABASE_POOL_MAX: 1,
          EMBEDDING_MODEL: "use-lite",
          MAX_FILE_BYTES: 1_000_000,
          RETIRE_GRACE_MS: 0,
        },
        quietLog,
      ),
    }),
  };
  const servers: Array<Parameters<typeof closeServer>[0]> = [];
  return {
    core,
    queue,
    base,
    dirs,
    /** The app with `config` over the fixture's, listening on 127.0.0.1 port 0. */
    async serve(config: Partial<ApiConfig> = {}) {
      const app = createApp({ ...base, metrics: undefined, config: { ...base.config, ...config } });
      const server = await listen(app.fetch, 0, "127.0.0.1");
      servers.push(server);
      const port = (server.address() as { port: number }).port;
      return { app, url: `http://127.0.0.1:${port}` };
    },
    async close() {
      for (const s of servers) {
        await closeServer(s);
      }
      await watcher.close();
      await queue.close();
      await cleanup();
    },
  };
}
export type IndexedCollections = Awaited<ReturnType<typeof indexedCollections>>;

/** Two collections (sea: the lighthouses; hr: parental leave) and keys scoped to each. */
export function twoTenants(): Promise<IndexedCollections> {
  return indexedCollections({ files: { sea: LIGHTHOUSES, hr: HR_FILES }, apiKeys: TENANT_API_KEYS });
}
export type TwoTenants = IndexedCollections;
