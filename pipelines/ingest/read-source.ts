import { open, realpath, stat } from "node:fs/promises";
import { isAbsolute, relative, resolve } from "node:path";
import { isPipelineError, PipelineError } from "../errors.js";

/** What reading a source file found: its bytes, or that it is no longer there. */
export type SourceRead = { kind: "file"; bytes: Uint8Array } | { kind: "gone" };

/**
 * Refuses a file whose real location (symbolic links followed) is outside the real root: a link
 * inside a watched folder to /etc/passwd or another tenant's folder must not be read into this
 * one's collection. A link that stays inside the root is fine. Missing files pass (read says gone).
 */
export async function assertContained(root: string, abs: string, path: string): Promise<void> {
  const realRoot = await realpath(root).catch(() => resolve(root));
  const real = await realpath(abs).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT" || err.code === "ENOTDIR") {
      return null;
    }
    throw err;
  });
  if (real === null) {
    return;
  }
  const rel = relative(realRoot, real);
  if (rel === "" || rel.startsWith("..") || isAbsolute(rel)) {
    throw new PipelineError(
      "path_outside_root",
      `"${path}" is a symbolic link (or under one) that leads outside the watched folder; it was not read.`,
      { context: { path } },
    );
  }
}

/** Resolves `path` under `root`, refusing `..` escapes. */
export function resolveInside(root: string, path: string): string {
  const abs = resolve(root, path);
  const rel = relative(root, abs);
  if (rel.startsWith("..") || isAbsolute(rel)) {
    throw new PipelineError("permission_denied", `${path} is outside the watched folder ${root}.`);
  }
  return abs;
}

/**
 * Reads a source file, refusing it before reading when it is over the size limit. A path that is
 * missing or no longer a regular file (replaced by a folder, a pipe) is "gone": the start-up scan
 * lists regular files only, so treating it any other way here would disagree with the next scan.
 * Unreadable input becomes a PipelineError; anything else (EIO, EMFILE) is rethrown for a retry.
 */
export async function readSourceFile(abs: string, path: string, maxBytes: number, root?: string): Promise<SourceRead> {
  try {
    if (root !== undefined) {
      await assertContained(root, abs, path);
    }
    const info = await stat(abs);
    if (!info.isFile()) {
      return { kind: "gone" };
    }
    if (info.size > maxBytes) {
      throw new PipelineError(
        "file_too_large",
        `"${path}" is ${info.size} bytes, over the limit of ${maxBytes} bytes (MAX_FILE_BYTES); it was not read.`,
        { context: { path, size: info.size, maxBytes } },
      );
    }
    const handle = await open(abs, "r");
    try {
      const bytes = new Uint8Array(await handle.readFile());
      // The file may have grown between stat and read; the limit protects memory, so hold to it.
      if (bytes.byteLength > maxBytes) {
        return readSourceFile(abs, path, maxBytes, root);
      }
      return { kind: "file", bytes };
    } finally {
      await handle.close();
    }
  } catch (err) {
    if (isPipelineError(err)) {
      throw err;
    }
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") {
      return { kind: "gone" };
    }
    if (code === "EACCES" || code === "EPERM") {
      throw new PipelineError(
        "permission_denied",
        `"${path}" cannot be read: permission denied. Give the service's user read access to it.`,
        { cause: err, context: { path } },
      );
    }
    throw err;
  }
}

/** True while `abs` is still a regular file; used to notice a file deleted while it was being embedded. */
export async function stillExists(abs: string): Promise<boolean> {
  const info = await stat(abs).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT" || err.code === "ENOTDIR") {
      return null;
    }
    throw err;
  });
  return info?.isFile() ?? false;
}
