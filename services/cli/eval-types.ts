import { z } from "zod";
import { apiEnv, commonEnv, watcherEnv } from "../common/config.js";

// The eval command's arguments, configuration and output, apart from the command: eval.ts parses
// them and eval-suite.ts / eval-beir.ts take them, without importing the command back.

const count = (flag: string, max: number) =>
  z.coerce
    .number({ error: `--${flag} must be a number` })
    .int(`--${flag} must be a whole number`)
    .min(1, `--${flag} must be at least 1`)
    .max(max, `--${flag} must be at most ${max}`);

export const EvalArgsSchema = z.object({
  k: count("k", 50),
  tolerance: z.coerce
    .number({ error: "--tolerance must be a number" })
    .min(0, "--tolerance must be 0 or more")
    .max(1, "--tolerance must be at most 1"),
  limit: count("limit", 1_000_000).optional(),
  candidates: count("candidates", 10_000),
});

export type EvalArgs = {
  suite?: string | undefined;
  ingest?: string | undefined;
  out: string;
  name?: string | undefined;
  baseline?: string | undefined;
  saveBaseline?: string | undefined;
  beir?: string | undefined;
  split: string;
  dataDir?: string | undefined;
  fit: boolean;
  /** --prompt-version a,b: run the suite under each answer prompt version, side by side. */
  promptVersions?: string[] | undefined;
} & z.infer<typeof EvalArgsSchema>;

export const evalEnv = z.object({ ...commonEnv, ...apiEnv, COLLECTION: watcherEnv.COLLECTION });
export type EvalConfig = z.infer<typeof evalEnv>;

/** What the commands print to; tests capture it. */
export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
}
