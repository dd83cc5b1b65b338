import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { join, relative, resolve, sep } from "node:path";
import { watch, type FSWatcher } from "chokidar";
import { formatForPath } from "../../pipelines/parse/index.js";
import type { Catalog } from "../../pipelines/store/catalog.js";
import { ConfigError } from "../common/config.js";
import type { Logger } from "../common/log.js";
import type { JobQueue } from "../common/queue/types.js";

export interface WatcherOptions {
  catalog: Catalog;
  queue: JobQueue;
  log: Logger;
  dirs: string[];
  collection: string;
  maxFileBytes: number;
  /** How long a file must stay unchanged before it is read (chokidar's awaitWriteFinish). */
  stabilityMs?: number;
}

export interface SourceWatcher {
  /** Registers the sources, reconciles them with the index, then watches for changes. */
  start(): Promise<void>;
  /** Re-runs the reconciliation scan (what start() does first). */
  scan(): Promise<{ enqueued: number; removed: number }>;
  close(): Promise<void>;
}

const IGNORED_DIRS = new Set(["node_modules", ".git"]);
const isIgnoredName = (name: string) => name.startsWith(".") || name.endsWith("~") || IGNORED_DIRS.has(name);

/**
 * Watches folders and turns file changes into ingestion jobs. A reconciliation scan at start-up
 * enqueues what was added, changed or deleted while the service was down, since events that
 * happen while nobody watches are otherwise lost.
 */
export function createSourceWatcher(opts: WatcherOptions): SourceWatcher {
  const roots = opts.dirs.map((d) => resolve(d));
  const sources = new Map<string, string>(); // root → source id
  let watcher: FSWatcher | undefined;

  const relPath = (root: string, abs: string) => relative(root, abs).split(sep).join("/");
  const rootOf = (abs: string) => roots.find((r) => abs === r || abs.startsWith(r + sep));

  async function enqueueFile(root: string, abs: string) {
    const sourceId = sources.get(root)!;
    const path = relPath(root, abs);
    const info = await stat(abs).catch(() => null);
    if (!info) return opts.queue.enqueue("remove-file", { sourceId, path });
    // Over the limit: let the worker record why, without hashing a huge file here.
    const contentHash = info.size <= opts.maxFileBytes ? await hashFile(abs).catch(() => undefined) : undefined;
    return opts.queue.enqueue("index-file", { sourceId, path, contentHash });
  }

  async function onEvent(kind: "add" | "change" | "unlink", abs: string) {
    const root = rootOf(abs);
    if (!root || formatForPath(abs) === null) return;
    try {
      if (kind === "unlink") {
        await opts.queue.enqueue("remove-file", { sourceId: sources.get(root)!, path: relPath(root, abs) });
      } else await enqueueFile(root, abs);
      await opts.catalog.touchSource(sources.get(root)!, "event");
    } catch (err) {
      opts.log.error("watch event not enqueued", { kind, path: abs, err });
    }
  }

  async function scan() {
    let enqueued = 0;
    let removed = 0;
    for (const root of roots) {
      const sourceId = sources.get(root)!;
      const onDisk = new Set<string>();
      for await (const abs of walk(root)) {
        if (formatForPath(abs) === null) continue;
        onDisk.add(relPath(root, abs));
        await enqueueFile(root, abs);
        enqueued++;
      }
      for (const doc of await opts.catalog.listDocuments(sourceId)) {
        if (onDisk.has(doc.path)) continue;
        await opts.queue.enqueue("remove-file", { sourceId, path: doc.path });
        removed++;
      }
      await opts.catalog.touchSource(sourceId, "scan");
    }
    opts.log.info("reconciliation scan enqueued", { enqueued, removed });
    return { enqueued, removed };
  }

  return {
    async start() {
      for (const root of roots) {
        const info = await stat(root).catch(() => null);
        if (!info?.isDirectory()) {
          throw new ConfigError(`WATCH_DIRS: ${root} is not a directory (create it or fix WATCH_DIRS).`);
        }
        sources.set(root, await opts.catalog.upsertSource(root, opts.collection));
      }
      // Watch first, then scan: a file created while chokidar crawls counts as "initial" and is
      // not reported, but the scan that follows sees it; one created after is an event.
      const stabilityThreshold = opts.stabilityMs ?? 300;
      watcher = watch(roots, {
        ignoreInitial: true,
        awaitWriteFinish: { stabilityThreshold, pollInterval: Math.min(100, stabilityThreshold) },
        // Judge only the part under the root: a root inside a dot-folder is still watched.
        ignored: (p) => {
          const root = rootOf(p);
          return root !== undefined && relPath(root, p).split("/").some(isIgnoredName);
        },
      });
      watcher.on("add", (p) => void onEvent("add", p));
      watcher.on("change", (p) => void onEvent("change", p));
      watcher.on("unlink", (p) => void onEvent("unlink", p));
      watcher.on("error", (err) => opts.log.error("watcher error", { err }));
      await new Promise<void>((r) => watcher!.once("ready", () => r()));
      await scan();
    },
    scan,
    async close() {
      await watcher?.close();
    },
  };
}

async function* walk(dir: string): AsyncGenerator<string> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (isIgnoredName(entry.name)) continue;
    const abs = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(abs);
    else if (entry.isFile()) yield abs;
  }
}

function hashFile(abs: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash("sha256");
    createReadStream(abs)
      .on("data", (d) => hash.update(d))
      .on("end", () => resolve(hash.digest("hex")))
      .on("error", reject);
  });
}
