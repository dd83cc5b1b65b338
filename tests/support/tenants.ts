import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createExtractiveGenerator } from "../../pipelines/generate/extractive.js";
import { createApp } from "../../services/api/app.js";
import type { ApiConfig, ApiDeps } from "../../services/api/context.js";
import { closeServer, listen } from "../../services/api/server.js";
import { parseApiKeys } from "../../services/common/api-keys.js";
import { createInProcessQueue } from "../../services/common/queue/in-process.js";
import { createSourceWatcher } from "../../services/watcher/watcher.js";
import { createWorker } from "../../services/common/ingest-worker.js";
import { makeCore, quietLog } from "./core.js";
import { apiConfig } from "./pipeline.js";
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
 * Two collections (sea: the lighthouses; hr: parental leave), indexed by the real pipeline on
 * PGlite with USE-Lite, and keys scoped to each. `serve` starts the app on a loopback port 0.
 */
export async function twoTenants() {
  const seaDir = mkdtempSync(join(tmpdir(), "rag-sea-"));
  const hrDir = mkdtempSync(join(tmpdir(), "rag-hr-"));
  for (const [name, text] of Object.entries(LIGHTHOUSES)) {
    writeFileSync(join(seaDir, name), text);
  }
  for (const [name, text] of Object.entries(HR_FILES)) {
    writeFileSync(join(hrDir, name), text);
  }
  const { core, cleanup } = await makeCore("pglite");
  const queue = createInProcessQueue({ backoffScale: 0.01 });
  createWorker({ core, queue, log: quietLog, maxFileBytes: 1_000_000 }).start();
  const watcher = createSourceWatcher({
    catalog: core.catalog,
    queue,
    log: quietLog,
    dirs: [
      { dir: seaDir, collection: "sea" },
      { dir: hrDir, collection: "hr" },
    ],
    collection: "default",
    maxFileBytes: 1_000_000,
    stabilityMs: 100,
  });
  await watcher.start();
  await queue.idle();
  const base: ApiDeps = {
    config: { ...apiConfig, API_KEYS: TENANT_API_KEYS },
    log: quietLog,
    generator: createExtractiveGenerator(),
    reranker: createLexicalReranker(),
    core,
    queue,
  };
  const servers: Array<Parameters<typeof closeServer>[0]> = [];
  return {
    core,
    base,
    /** The app with `config` over the keyed defaults, listening on 127.0.0.1 port 0. */
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
      rmSync(seaDir, { recursive: true, force: true });
      rmSync(hrDir, { recursive: true, force: true });
    },
  };
}
export type TwoTenants = Awaited<ReturnType<typeof twoTenants>>;
