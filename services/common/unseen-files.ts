import { realpath, stat } from "node:fs/promises";
import { relative, resolve, sep } from "node:path";
import { formatForPath } from "../../pipelines/parse/index.js";
import { walk } from "./walk.js";

export interface UnseenResult {
  /** Supported files on disk under the root that the catalog has no document for. */
  count: number;
  /** The oldest of their ctimes: when the file last arrived or changed (a write, unpack, checkout). */
  oldestAt: Date | null;
  /** False when the budget stopped the walk: `count` is then a lower bound. */
  complete: boolean;
}

/**
 * Walks `root` as the watcher's reconciliation does (same ignored names, same symbolic-link rule)
 * and counts the files the catalog does not know: what the watcher has not reported yet, or lost.
 * `budget.files` bounds the files listed, `budget.stat` the unseen ones stat'ed, for all roots of
 * one status read together.
 */
export async function findUnseen(
  root: string,
  known: ReadonlySet<string>,
  budget: { files: number; stat: number },
): Promise<UnseenResult> {
  const result: UnseenResult = { count: 0, oldestAt: null, complete: true };
  const base = resolve(root);
  const realBase = await realpath(base).catch(() => null);
  // An unreachable root says nothing about its files (checkStale reports it).
  if (realBase === null || !(await stat(base).catch(() => null))?.isDirectory()) {
    return result;
  }
  const escapes = async (abs: string) => {
    const real = await realpath(abs).catch(() => null);
    return real !== null && real !== realBase && !real.startsWith(realBase + sep);
  };
  // A folder that cannot be listed hides its files; the stale check sees what it can.
  for await (const abs of walk(base, () => {}, undefined, escapes)) {
    if (budget.files <= 0) {
      result.complete = false;
      break;
    }
    budget.files--;
    if (formatForPath(abs) === null || known.has(relative(base, abs).split(sep).join("/"))) {
      continue;
    }
    result.count++;
    if (budget.stat <= 0) {
      result.complete = false;
      continue;
    }
    budget.stat--;
    const info = await stat(abs).catch(() => null);
    if (info && (!result.oldestAt || info.ctime < result.oldestAt)) {
      result.oldestAt = info.ctime;
    }
  }
  return result;
}
