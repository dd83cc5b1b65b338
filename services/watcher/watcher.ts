import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readdir, realpath, stat } from "node:fs/promises";
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

  /**
   * Enqueues what a file needs. `indexedHash` is the hash the index holds (scan only): a file
   * that still has it needs nothing, so a restart over a large unchanged folder queues nothing.
   */
  async function enqueueFile(root: string, abs: string, indexedHash?: string | null): Promise<boolean> {
    const sourceId = sources.get(root)!;
    const path = relPath(root, abs);
    const info = await stat(abs).catch(() => null);
    if (!info?.isFile()) {
      await opts.queue.enqueue("remove-file", { sourceId, path });
      return true;
    }
    // Over the limit: let the worker record why, without hashing a huge file here.
    const contentHash = info.size <= opts.maxFileBytes ? await hashFile(abs).catch(() => undefined) : undefined;
    if (contentHash !== undefined && contentHash === indexedHash) return false;
    await opts.queue.enqueue("index-file", { sourceId, path, contentHash });
    return true;
  }

  /** A removed folder: chokidar reports its files one by one, but a job per known document is certain. */
  async function removeUnder(root: string, absDir: string) {
    const sourceId = sources.get(root)!;
    const prefix = `${relPath(root, absDir)}/`;
    for (const doc of await opts.catalog.listDocuments(sourceId)) {
      if (doc.path.startsWith(prefix)) await opts.queue.enqueue("remove-file", { sourceId, path: doc.path });
    }
  }

  async function onEvent(kind: "add" | "change" | "unlink" | "unlinkDir", abs: string) {
    const root = rootOf(abs);
    if (!root || abs === root || (kind !== "unlinkDir" && formatForPath(abs) === null)) return;
    try {
      if (kind === "unlinkDir") await removeUnder(root, abs);
      else if (kind === "unlink") {
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
      const known = await opts.catalog.listDocuments(sourceId);
      // Only an indexed document's hash means "done"; a failed one is retried at every start-up.
      const indexedHash = new Map(known.map((d) => [d.path, d.status === "indexed" ? d.contentHash : null]));
      const onDisk = new Set<string>();
      // A folder that cannot be listed hides its files; they are not gone, so they are kept.
      const unlisted: string[] = [];
      const onUnlisted = (abs: string, err: unknown) => {
        unlisted.push(`${relPath(root, abs)}/`);
        opts.log.warn("folder not listed during scan; its documents are kept as they are", { path: abs, err });
      };
      for await (const abs of walk(root, onUnlisted)) {
        if (formatForPath(abs) === null) continue;
        const path = relPath(root, abs);
        onDisk.add(path);
        if (await enqueueFile(root, abs, indexedHash.get(path))) enqueued++;
      }
      for (const doc of known) {
        if (onDisk.has(doc.path) || unlisted.some((dir) => dir === "/" || doc.path.startsWith(dir))) continue;
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
      watcher.on("unlinkDir", (p) => void onEvent("unlinkDir", p));
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

/**
 * Regular files under `dir`, following symbolic links as chokidar does, so that the scan and the
 * live events agree on what the folder holds (a linked file the scan skipped would be indexed
 * by its event and removed again at the next start-up). Each real folder is entered once.
 */
async function* walk(dir: string, onUnlisted: (dir: string, err: unknown) => void, entered = new Set<string>()): AsyncGenerator<string> {
  let entries;
  try {
    const real = await realpath(dir);
    if (entered.has(real)) return;
    entered.add(real);
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    onUnlisted(dir, err);
    return;
  }
  for (const entry of entries) {
    if (isIgnoredName(entry.name)) continue;
    const abs = join(dir, entry.name);
    const kind = entry.isSymbolicLink() ? await stat(abs).catch(() => null) : entry;
    if (kind?.isDirectory()) yield* walk(abs, onUnlisted, entered);
    else if (kind?.isFile()) yield abs;
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
