import { createHash } from "node:crypto";
import { createReadStream, realpathSync } from "node:fs";
import { readdir, realpath, stat } from "node:fs/promises";
import { join, relative, resolve, sep } from "node:path";
import { watch, type FSWatcher } from "chokidar";
import { formatForPath } from "../../pipelines/parse/index.js";
import type { Catalog } from "../../pipelines/store/catalog.js";
import { ConfigError } from "../common/config.js";
import type { Logger } from "../common/log.js";
import { createProgress } from "../common/progress.js";
import type { JobLane, JobQueue } from "../common/queue/types.js";

export interface WatcherOptions {
  catalog: Catalog;
  queue: JobQueue;
  log: Logger;
  /** Folders to watch; a plain folder belongs to `collection`, `{dir, collection}` to its own. */
  dirs: WatchDir[];
  collection: string;
  maxFileBytes: number;
  /** How long a file must stay unchanged before it is read (chokidar's awaitWriteFinish). */
  stabilityMs?: number;
  /** Draws the reconciliation scan's progress here (a terminal), for folders of PROGRESS_MIN_FILES or more. */
  progressStream?: NodeJS.WriteStream | undefined;
}

// Smaller folders scan in a moment; a progress line would only flash by.
const PROGRESS_MIN_FILES = 200;

/** A watched folder, alone (it belongs to COLLECTION) or with its own collection (tenant). */
export type WatchDir = string | { dir: string; collection: string };

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
  const roots = opts.dirs.map((d) => resolve(typeof d === "string" ? d : d.dir));
  const collections = opts.dirs.map((d) => (typeof d === "string" ? opts.collection : d.collection));
  const sources = new Map<string, string>(); // root → source id
  const realRoots = new Map<string, string>(); // root → its real path, for symlink containment
  let watcher: FSWatcher | undefined;

  const relPath = (root: string, abs: string) => relative(root, abs).split(sep).join("/");
  const rootOf = (abs: string) => roots.find((r) => abs === r || abs.startsWith(r + sep));

  /**
   * Enqueues what a file needs. `indexedHash` is the hash the index holds (scan only): a file
   * that still has it needs nothing, so a restart over a large unchanged folder queues nothing.
   */
  async function enqueueFile(root: string, abs: string, indexedHash?: string | null, lane: JobLane = "live"): Promise<boolean> {
    const sourceId = sources.get(root)!;
    const path = relPath(root, abs);
    const info = await stat(abs).catch(() => null);
    if (!info?.isFile()) {
      await opts.queue.enqueue("remove-file", { sourceId, path }, { lane });
      return true;
    }
    // Over the limit: let the worker record why, without hashing a huge file here.
    const contentHash = info.size <= opts.maxFileBytes ? await hashFile(abs).catch(() => undefined) : undefined;
    if (contentHash !== undefined && contentHash === indexedHash) return false;
    await opts.queue.enqueue("index-file", { sourceId, path, contentHash }, { lane });
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

  /**
   * A symbolic link may lead anywhere; only what really lies under the root is this source's. An
   * escaping link is skipped with a log line (the worker refuses it too, should a job name it).
   */
  async function escapes(root: string, abs: string): Promise<boolean> {
    const real = await realpath(abs).catch(() => null);
    if (real === null) return false; // gone: the event or the scan handles it as a removal
    const base = realRoots.get(root) ?? root;
    if (real === base || real.startsWith(base + sep)) return false;
    opts.log.warn("symbolic link leads outside the watched folder; skipped", { path: relPath(root, abs) });
    return true;
  }

  async function onEvent(kind: "add" | "change" | "unlink" | "unlinkDir", abs: string) {
    const root = rootOf(abs);
    if (!root || abs === root || (kind !== "unlinkDir" && formatForPath(abs) === null)) return;
    if ((kind === "add" || kind === "change") && (await escapes(root, abs))) return;
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
      // Listed first, so the progress line has a total; hashing is the slow part, not listing.
      const files: string[] = [];
      for await (const abs of walk(root, onUnlisted, undefined, (a) => escapes(root, a))) if (formatForPath(abs) !== null) files.push(abs);
      const progress =
        opts.progressStream && files.length >= PROGRESS_MIN_FILES
          ? createProgress({ label: `scan ${root}`, total: files.length, stream: opts.progressStream })
          : undefined;
      let queuedHere = 0;
      // Scan jobs wait in the scan lane: a live edit made during a long catch-up is taken first.
      for (const abs of files) {
        const path = relPath(root, abs);
        onDisk.add(path);
        if (await enqueueFile(root, abs, indexedHash.get(path), "scan")) queuedHere++;
        progress?.tick(1);
      }
      progress?.done(`${files.length} files checked, ${queuedHere} queued for indexing`);
      enqueued += queuedHere;
      for (const doc of known) {
        if (onDisk.has(doc.path) || unlisted.some((dir) => dir === "/" || doc.path.startsWith(dir))) continue;
        await opts.queue.enqueue("remove-file", { sourceId, path: doc.path }, { lane: "scan" });
        removed++;
      }
      await opts.catalog.touchSource(sourceId, "scan");
    }
    opts.log.info("reconciliation scan enqueued", { enqueued, removed });
    return { enqueued, removed };
  }

  return {
    async start() {
      for (const [i, root] of roots.entries()) {
        const info = await stat(root).catch(() => null);
        if (!info?.isDirectory()) {
          throw new ConfigError(`WATCH_DIRS: ${root} is not a directory (create it or fix WATCH_DIRS).`);
        }
        realRoots.set(root, await realpath(root));
        sources.set(root, await opts.catalog.upsertSource(root, collections[i]!));
      }
      // Watch first, then scan: a file created while chokidar crawls counts as "initial" and is
      // not reported, but the scan that follows sees it; one created after is an event.
      const stabilityThreshold = opts.stabilityMs ?? 300;
      watcher = watch(roots, {
        ignoreInitial: true,
        awaitWriteFinish: { stabilityThreshold, pollInterval: Math.min(100, stabilityThreshold) },
        // Judge only the part under the root: a root inside a dot-folder is still watched.
        // chokidar follows symbolic links: never into a target outside the root (one realpath per path).
        ignored: (p) => {
          const root = rootOf(p);
          if (root === undefined) return false;
          return relPath(root, p).split("/").some(isIgnoredName) || (p !== root && escapesSync(realRoots.get(root) ?? root, p));
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
export async function* walk(
  dir: string,
  onUnlisted: (dir: string, err: unknown) => void,
  entered = new Set<string>(),
  /** True for a symbolic link that leads outside the root: neither listed nor entered. */
  escapes: (abs: string) => Promise<boolean> = async () => false,
): AsyncGenerator<string> {
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
    if (entry.isSymbolicLink() && (await escapes(abs))) continue;
    const kind = entry.isSymbolicLink() ? await stat(abs).catch(() => null) : entry;
    if (kind?.isDirectory()) yield* walk(abs, onUnlisted, entered, escapes);
    else if (kind?.isFile()) yield abs;
  }
}

function escapesSync(realRoot: string, abs: string): boolean {
  let real: string;
  try {
    real = realpathSync(abs);
  } catch {
    return false; // gone or unreadable: nothing to follow
  }
  return real !== realRoot && !real.startsWith(realRoot + sep);
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
