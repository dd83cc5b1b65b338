import type { Dirent } from "node:fs";
import { readdir, realpath, stat } from "node:fs/promises";
import { join } from "node:path";

const IGNORED_DIRS = new Set(["node_modules", ".git"]);

/** Names the watcher, its reconciliation and the unseen-file count all skip: dot files, editor backups, dependencies. */
export const isIgnoredName = (name: string) => name.startsWith(".") || name.endsWith("~") || IGNORED_DIRS.has(name);

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
  /** Told each folder entered, `dir` itself first. */
  onFolder?: (dir: string) => void,
): AsyncGenerator<string> {
  let entries: Dirent[];
  try {
    const real = await realpath(dir);
    if (entered.has(real)) {
      return;
    }
    entered.add(real);
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    onUnlisted(dir, err);
    return;
  }
  onFolder?.(dir);
  for (const entry of entries) {
    if (isIgnoredName(entry.name)) {
      continue;
    }
    const abs = join(dir, entry.name);
    if (entry.isSymbolicLink() && (await escapes(abs))) {
      continue;
    }
    const kind = entry.isSymbolicLink() ? await stat(abs).catch(() => null) : entry;
    if (kind?.isDirectory()) {
      yield* walk(abs, onUnlisted, entered, escapes, onFolder);
    } else if (kind?.isFile()) {
      yield abs;
    }
  }
}
