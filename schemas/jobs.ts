import { createHash } from "node:crypto";
import { z } from "zod";

/**
 * A path relative to its source root, as the watcher writes it. Payloads come back from Redis,
 * which anyone with access to it can write: an absolute path, a `..` segment or a NUL is refused
 * at parse time, before any file is touched (the worker also checks the real path, symlinks and all).
 */
export const RelativePath = z
  .string()
  .min(1)
  .max(4096)
  .refine((p) => !p.includes("\0"), "path must not contain NUL")
  .refine(
    (p) => !p.startsWith("/") && !/^[A-Za-z]:/.test(p) && !p.startsWith("\\"),
    "path must be relative to its source root",
  )
  .refine((p) => !p.split(/[\\/]/).includes(".."), "path must not contain '..' segments");

/**
 * The job catalog: every job the queue carries, its payload schema and retry policy. Payloads
 * carry ids and hashes, never file contents. Consumers parse payloads again on receipt.
 */
export const IndexFilePayload = z.object({
  sourceId: z.string().min(1),
  path: RelativePath,
  contentHash: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
});
export const RemoveFilePayload = z.object({
  sourceId: z.string().min(1),
  path: RelativePath,
});

export const jobCatalog = {
  // 30 minutes: a scanned PDF is OCR'd page by page (8-30 s a page on two cores), and a job that
  // timed out would be retried from the first page while its OCR still ran (issue 19).
  "index-file": { payload: IndexFilePayload, attempts: 5, backoffMs: 1_000, timeoutMs: 30 * 60_000 },
  "remove-file": { payload: RemoveFilePayload, attempts: 5, backoffMs: 1_000, timeoutMs: 60_000 },
} as const;

export type JobName = keyof typeof jobCatalog;
export type JobPayload<N extends JobName> = z.infer<(typeof jobCatalog)[N]["payload"]>;

const shortHash = (s: string) => createHash("sha256").update(s).digest("hex").slice(0, 16);

/**
 * Deterministic ids, so the same change enqueued twice is one job (BullMQ forbids ':' in ids).
 * `documentKey` groups jobs for one document: the latest one wins.
 */
export function jobId<N extends JobName>(name: N, payload: JobPayload<N>): string {
  const base = `${payload.sourceId}-${shortHash(payload.path)}`;
  if (name === "index-file") {
    const hash = (payload as JobPayload<"index-file">).contentHash;
    return `index-${base}-${hash ? hash.slice(0, 16) : "current"}`;
  }
  return `remove-${base}`;
}

export function documentKey(payload: { sourceId: string; path: string }): string {
  return `${payload.sourceId}-${shortHash(payload.path)}`;
}
