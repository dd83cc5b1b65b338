import { createHash } from "node:crypto";
import { createReadStream, realpathSync } from "node:fs";
import { realpath, stat } from "node:fs/promises";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import { watch, type FSWatcher } from "chokidar";
import { formatForPath } from "../../pipelines/parse/index.js";
import type { Catalog, DocumentRow } from "../../pipelines/store/catalog.js";
import { ConfigError } from "../common/config.js";
import type { Logger } from "../common/log.js";
import { createProgress } from "../common/progress.js";
import type { JobLane, JobQueue } from "../common/queue/types.js";
import { createRescanScheduler, type RescanTimer, type WatchEventKind } from "./rescan-scheduler.js";
import { isIgnoredName, walk } from "../common/walk.js";

// The walk is shared with the status report's count of unseen files (services/common).
export { walk } from "../common/walk.js";

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
  /** Every root is reconciled again this often (RESCAN_INTERVAL); 0 or unset: only after bursts. */
  rescanIntervalMs?: number;
  /** Quiet time after a burst of folder events (or many file events) before its root is reconciled. */
  burstSettleMs?: number;
  /** Runs the RESCAN_INTERVAL schedule (setInterval by default); a test ticks it by hand. */
  rescanTimer?: RescanTimer;
  /**
   * chokidar's `watch`, by default. A test passes one whose watcher loses some events, as chokidar
   * does in the cases below, to show the reconciliation finds what events never told.
   */
  watchFiles?: typeof watch;
}

/** The catalog's view of a file, as the reconciliation compares it with the disk. */
type KnownDoc = Pick<DocumentRow, "status" | "contentHash" | "sizeBytes" | "indexedAt" | "updatedAt">;

// Smaller folders scan in a moment; a progress line would only flash by.
const PROGRESS_MIN_FILES = 200;

/** A watched folder, alone (it belongs to COLLECTION) or with its own collection (tenant). */
export type WatchDir = string | { dir: string; collection: string };

export interface SourceWatcher {
  /** Registers the sources, reconciles them with the index, then watches for changes. */
  start(): Promise<void>;
  /** Re-runs the reconciliation scan (what start() does first). */
  scan(): Promise<{ enqueued: number; removed: number }>;
  /** Resolves when no burst waits to settle and no reconciliation runs (tests, benchmarks). */
  settled(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Watches folders and turns file changes into ingestion jobs. A reconciliation scan at start-up
 * enqueues what was added, changed or deleted while the service was down, since events that
 * happen while nobody watches are otherwise lost.
 *
 * chokidar (5.0) loses files in bulk moves, so the same reconciliation runs again once a burst of
 * folder events settles, and every `rescanIntervalMs`. What it loses, read in its handler.js:
 * - a folder deleted and created again at the same path in a burst (`git checkout`, `rsync
 *   --delete`, `rm -rf x && cp -r y x`) is never noticed as new: chokidar keeps the watch of the
 *   deleted folder, so no file written into the new one is ever reported. The scan notices the
 *   folder's new inode and re-arms chokidar on it (unwatch, add).
 * - a new folder is listed before it is watched (`_handleDir`: read, then fs.watch); a file
 *   written into it in between is reported only if another change in that folder follows.
 * - a re-read asked for while a listing runs is dropped when that listing takes over a second
 *   (its throttle entry expires with the count), which a busy event loop makes likely.
 * A replaced folder is often reported only as changes to the files it holds again (chokidar's
 * last read through the dead watch), which alone would not call for a reconciliation; so the
 * deletion of a watched folder itself (a raw `rename` event naming the folder on its own watch)
 * counts as a folder event, and that folder is re-armed by the reconciliation that follows.
 */
export function createSourceWatcher(opts: WatcherOptions): SourceWatcher {
  const roots = opts.dirs.map((d) => resolve(typeof d === "string" ? d : d.dir));
  const collections = opts.dirs.map((d) => (typeof d === "string" ? opts.collection : d.collection));
  const sources = new Map<string, string>(); // root → source id
  const realRoots = new Map<string, string>(); // root → its real path, for symlink containment
  let watcher: FSWatcher | undefined;
  // Each folder's inode at the last scan: a new inode at a known path is a replaced folder.
  const folderInodes = new Map<string, Map<string, string>>(); // root → folder → inode and birth time
  // Folders whose own watch saw them deleted, and chokidar reported no unlinkDir for since.
  const lostWatch = new Map<string, Set<string>>(); // root → folders
  // Folders chokidar reported as added since the last reconciliation listed them.
  const addedDirs = new Set<string>();
  // One reconciliation at a time, whoever asks (start-up, a settled burst, the schedule, scan()).
  let exclusive: Promise<unknown> = Promise.resolve();
  const serially = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = exclusive.then(fn);
    exclusive = run.catch(() => {});
    return run;
  };

  const relPath = (root: string, abs: string) => relative(root, abs).split(sep).join("/");
  const rootOf = (abs: string) => roots.find((r) => abs === r || abs.startsWith(r + sep));

  /**
   * Enqueues what a file needs. `known` is the catalog's row (scan only; null: not in the
   * catalog). An indexed file whose size is the same and whose m/ctime is not after its indexing
   * needs nothing and is not even read; one that still has the indexed hash needs nothing either,
   * so a reconciliation over a large unchanged folder reads little and queues nothing. A failed or
   * pending file unchanged since its row was written is queued again only when `retryFailed` (start-up).
   */
  async function enqueueFile(
    root: string,
    abs: string,
    known?: KnownDoc | null,
    lane: JobLane = "live",
    retryFailed = true,
  ): Promise<boolean> {
    const sourceId = sources.get(root)!;
    const path = relPath(root, abs);
    const info = await stat(abs).catch(() => null);
    if (!info?.isFile()) {
      await opts.queue.enqueue("remove-file", { sourceId, path }, { lane });
      return true;
    }
    // ctime, not only mtime: `rsync -a` and `mv` put a file in place with an older mtime, but
    // setting it (or renaming) moves the ctime.
    const changedAt = new Date(Math.max(info.ctimeMs, info.mtimeMs));
    if (
      known?.status === "indexed" &&
      known.sizeBytes === info.size &&
      known.indexedAt &&
      changedAt <= known.indexedAt
    ) {
      return false;
    }
    // Failed: it fails again unless it changed. Pending: its job is queued or running. Start-up
    // takes both again (a job of the in-process queue dies with the process).
    if (known && known.status !== "indexed" && !retryFailed && changedAt <= known.updatedAt) {
      return false;
    }
    const indexedHash = known?.status === "indexed" ? known.contentHash : null;
    // Over the limit: let the worker record why, without hashing a huge file here.
    const contentHash = info.size <= opts.maxFileBytes ? await hashFile(abs).catch(() => undefined) : undefined;
    if (known !== undefined && contentHash !== undefined && contentHash === indexedHash) {
      return false;
    }
    await opts.queue.enqueue("index-file", { sourceId, path, contentHash }, { lane });
    return true;
  }

  /** A removed folder: chokidar reports its files one by one, but a job per known document is certain. */
  async function removeUnder(root: string, absDir: string) {
    const sourceId = sources.get(root)!;
    const prefix = `${relPath(root, absDir)}/`;
    for (const doc of await opts.catalog.listDocuments(sourceId)) {
      if (doc.path.startsWith(prefix)) {
        await opts.queue.enqueue("remove-file", { sourceId, path: doc.path });
      }
    }
  }

  /**
   * A symbolic link may lead anywhere; only what really lies under the root is this source's. An
   * escaping link is skipped with a log line (the worker refuses it too, should a job name it).
   */
  async function escapes(root: string, abs: string): Promise<boolean> {
    const real = await realpath(abs).catch(() => null);
    if (real === null) {
      return false; // gone: the event or the scan handles it as a removal
    }
    const base = realRoots.get(root) ?? root;
    if (real === base || real.startsWith(base + sep)) {
      return false;
    }
    opts.log.warn("symbolic link leads outside the watched folder; skipped", { path: relPath(root, abs) });
    return true;
  }

  async function onEvent(kind: WatchEventKind, abs: string) {
    const root = rootOf(abs);
    if (root) {
      rescans.noteEvent(root, kind);
      if (kind === "unlinkDir") {
        // chokidar saw the removal and dropped its watch: a folder created there later is new to it.
        lostWatch.get(root)?.delete(abs);
        addedDirs.delete(abs);
      } else if (kind === "addDir") {
        addedDirs.add(abs);
      }
    }
    if (!root || abs === root || kind === "addDir" || (kind !== "unlinkDir" && formatForPath(abs) === null)) {
      return;
    }
    if ((kind === "add" || kind === "change") && (await escapes(root, abs))) {
      return;
    }
    try {
      if (kind === "unlinkDir") {
        await removeUnder(root, abs);
      } else if (kind === "unlink") {
        await opts.queue.enqueue("remove-file", { sourceId: sources.get(root)!, path: relPath(root, abs) });
      } else {
        await enqueueFile(root, abs);
      }
      await opts.catalog.touchSource(sources.get(root)!, "event");
    } catch (err) {
      opts.log.error("watch event not enqueued", { kind, path: abs, err });
    }
  }

  /**
   * A raw event on a folder's own watch that names the folder itself: the folder was deleted or
   * moved away (inotify's IN_DELETE_SELF or IN_MOVE_SELF, which Node reports as a `rename` of the
   * watched path's name). If something is created at its path before chokidar reads the parent,
   * chokidar keeps this dead watch. Noted as a folder event, so a reconciliation follows the burst.
   */
  function onRaw(event: string, name: string | null, details: unknown) {
    const watched = (details as { watchedPath?: unknown } | undefined)?.watchedPath;
    if (event !== "rename" || typeof watched !== "string" || name !== basename(watched)) {
      return;
    }
    const abs = resolve(watched);
    const root = rootOf(abs);
    // A file's own watch reports its deletion the same way; chokidar re-watches a replaced file itself.
    if (!root || abs === root || !(folderInodes.get(root)?.has(abs) || addedDirs.has(abs))) {
      return;
    }
    let lost = lostWatch.get(root);
    if (!lost) {
      lost = new Set();
      lostWatch.set(root, lost);
    }
    lost.add(abs);
    rescans.noteEvent(root, "unlinkDir");
  }

  /**
   * The folders under `root` with their inodes. A known folder whose inode changed was replaced
   * behind chokidar's back (see above): unwatch and add it again so its new files are reported.
   * Returns whether any was re-armed, so the caller lists the files again after the re-arm.
   */
  async function rearmReplaced(root: string, folders: string[]): Promise<boolean> {
    const before = folderInodes.get(root);
    const now = new Map<string, string>();
    for (let i = 0; i < folders.length; i += 64) {
      const infos = await Promise.all(folders.slice(i, i + 64).map((f) => stat(f).catch(() => null)));
      // With the birth time where the file system keeps one: a freed inode number is often reused at once.
      for (const [j, info] of infos.entries()) {
        if (info) {
          now.set(folders[i + j]!, `${info.ino}:${info.birthtimeMs}`);
        }
      }
    }
    folderInodes.set(root, now);
    for (const f of now.keys()) {
      addedDirs.delete(f);
    }
    // Whose own watch saw it deleted: if it is back, so are its sub-folders, all new to chokidar.
    const lost = [...(lostWatch.get(root) ?? [])].filter((l) => now.has(l));
    for (const l of lost) {
      lostWatch.get(root)!.delete(l);
    }
    const replaced = [...now.keys()].filter(
      (f) => (before?.has(f) && before.get(f) !== now.get(f)) || lost.some((l) => f === l || f.startsWith(l + sep)),
    );
    rearm(root, replaced, "replaced");
    return replaced.length > 0;
  }

  /**
   * Makes chokidar watch `folders` afresh. Every one, not only the outermost: unwatch() closes the
   * folder's own watch but leaves its sub-folders tracked on theirs, so re-adding a parent does
   * not re-arm them. Existing files raise no event (ignoreInitial); the reconciliation has them.
   */
  function rearm(root: string, folders: string[], why: "replaced" | "files not reported") {
    if (!watcher) {
      return;
    }
    for (const folder of [...new Set(folders)].sort()) {
      opts.log.info("watching a folder again", { path: relPath(root, folder) || ".", why });
      watcher.unwatch(folder);
      watcher.add(folder);
    }
  }

  /** Supported files under `root` and the folders listed, as walk() finds them. */
  async function listRoot(root: string) {
    // A folder that cannot be listed hides its files; they are not gone, so they are kept.
    const unlisted: string[] = [];
    const onUnlisted = (abs: string, err: unknown) => {
      unlisted.push(`${relPath(root, abs)}/`);
      opts.log.warn("folder not listed during scan; its documents are kept as they are", { path: abs, err });
    };
    const files: string[] = [];
    const folders: string[] = [];
    for await (const abs of walk(
      root,
      onUnlisted,
      undefined,
      (a) => escapes(root, a),
      (d) => folders.push(d),
    )) {
      if (formatForPath(abs) !== null) {
        files.push(abs);
      }
    }
    return { files, folders, unlisted };
  }

  /**
   * Reconciles one root with the index: enqueues what is new or changed on disk and the removal of
   * what is gone. `retryFailed`: also retry failed files that did not change (start-up only).
   */
  async function scanRoot(root: string, retryFailed: boolean): Promise<{ enqueued: number; removed: number }> {
    const sourceId = sources.get(root)!;
    // Listed first, so the progress line has a total; hashing is the slow part, not listing.
    let listed = await listRoot(root);
    if (await rearmReplaced(root, listed.folders)) {
      listed = await listRoot(root);
    }
    const { files, unlisted } = listed;
    // Read after the listing: a document the worker added meanwhile is known, not re-queued.
    const known = new Map<string, KnownDoc>((await opts.catalog.listDocuments(sourceId)).map((d) => [d.path, d]));
    const onDisk = new Set<string>();
    const progress =
      opts.progressStream && files.length >= PROGRESS_MIN_FILES
        ? createProgress({ label: `scan ${root}`, total: files.length, stream: opts.progressStream })
        : undefined;
    let enqueued = 0;
    let removed = 0;
    // Folders holding files the catalog has never heard of, after start-up: chokidar may have
    // lost its watch on them (a replaced folder whose inode number was reused looks unchanged).
    const unreported = new Set<string>();
    // Scan jobs wait in the scan lane: a live edit made during a long catch-up is taken first.
    for (const abs of files) {
      const path = relPath(root, abs);
      onDisk.add(path);
      const doc = known.get(path) ?? null;
      if (await enqueueFile(root, abs, doc, "scan", retryFailed)) {
        enqueued++;
        if (doc === null && !retryFailed) {
          unreported.add(dirname(abs));
        }
      }
      progress?.tick(1);
    }
    rearm(root, [...unreported], "files not reported");
    progress?.done(`${files.length} files checked, ${enqueued} queued for indexing`);
    for (const path of known.keys()) {
      if (onDisk.has(path) || unlisted.some((dir) => dir === "/" || path.startsWith(dir))) {
        continue;
      }
      // Listed before the catalog was read: a file created since is on disk, not gone.
      if (await stat(join(root, path)).catch(() => null)) {
        continue;
      }
      await opts.queue.enqueue("remove-file", { sourceId, path }, { lane: "scan" });
      removed++;
    }
    await opts.catalog.touchSource(sourceId, "scan");
    return { enqueued, removed };
  }

  async function scan() {
    return serially(async () => {
      let enqueued = 0;
      let removed = 0;
      for (const root of roots) {
        const r = await scanRoot(root, true);
        enqueued += r.enqueued;
        removed += r.removed;
      }
      opts.log.info("reconciliation scan enqueued", { enqueued, removed });
      return { enqueued, removed };
    });
  }

  const rescans = createRescanScheduler({
    roots,
    settleMs: opts.burstSettleMs ?? 1000,
    maxWaitMs: 10 * (opts.burstSettleMs ?? 1000),
    intervalMs: opts.rescanIntervalMs ?? 0,
    burstFiles: 20,
    timer: opts.rescanTimer,
    rescan: (root, reason) =>
      serially(async () => {
        const r = await scanRoot(root, false);
        if (r.enqueued || r.removed) {
          opts.log.info("reconciliation queued work", { root, reason, ...r });
        }
      }),
    onError: (root, err) => opts.log.error("reconciliation failed; the next one retries", { root, err }),
  });

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
      watcher = (opts.watchFiles ?? watch)(roots, {
        ignoreInitial: true,
        awaitWriteFinish: { stabilityThreshold, pollInterval: Math.min(100, stabilityThreshold) },
        // Judge only the part under the root: a root inside a dot-folder is still watched.
        // chokidar follows symbolic links: never into a target outside the root (one realpath per path).
        ignored: (p) => {
          const root = rootOf(p);
          if (root === undefined) {
            return false;
          }
          return (
            relPath(root, p).split("/").some(isIgnoredName) ||
            (p !== root && escapesSync(realRoots.get(root) ?? root, p))
          );
        },
      });
      watcher.on("add", (p) => void onEvent("add", p));
      watcher.on("change", (p) => void onEvent("change", p));
      watcher.on("unlink", (p) => void onEvent("unlink", p));
      watcher.on("unlinkDir", (p) => void onEvent("unlinkDir", p));
      watcher.on("addDir", (p) => void onEvent("addDir", p));
      watcher.on("raw", onRaw);
      watcher.on("error", (err) => opts.log.error("watcher error", { err }));
      await new Promise<void>((r) => watcher!.once("ready", () => r()));
      await scan();
      rescans.start();
      // A Redis that restarted empty lost the queued jobs of pending files, and events seen while it
      // was away could not be enqueued: reconcile as at start-up (pending files queued again; a job
      // still queued keeps its deterministic id, so nothing runs twice).
      opts.queue.onReconnect?.(() => {
        opts.log.info("queue reconnected; reconciling in case it lost queued jobs");
        scan().catch((err: unknown) => opts.log.error("reconciliation after reconnect failed", { err }));
      });
    },
    scan,
    settled: () => rescans.idle(),
    async close() {
      await rescans.close();
      await watcher?.close();
    },
  };
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
