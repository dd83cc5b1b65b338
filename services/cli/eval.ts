import { realpathSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { EvalInputError } from "../../pipelines/eval/beir.js";
import { DatabaseSetupError } from "../../pipelines/store/migrate.js";
import { ConfigError, parseConfig } from "../common/config.js";
import { runBeir } from "./eval-beir.js";
import { EvalArgsSchema, evalEnv, type EvalArgs, type Io } from "./eval-types.js";
import { runSuite } from "./eval-suite.js";
import { promptVersions } from "../../pipelines/prompts/registry.js";

const HELP = `npm run eval -- <suite.jsonl> [options]            run an eval suite through /ask's answer path
npm run eval -- --beir <folder> [--split test] [options]   BEIR retrieval (corpus.jsonl, queries.jsonl, qrels/<split>.tsv)

Suite options:
  --ingest <folder>        ingest this folder into the index first (waits until every file is indexed)
  --k <n>                  chunks retrieved per question, and the k of Recall@k (default 10)
  --prompt-version <a,b>   run the suite under each answer prompt version (prompts/answer/<v>.md) and print them
                           side by side (one report each, named <name>-<v>); default PROMPT_VERSION
BEIR options:
  --split <name>           qrels split (default test)
  --data-dir <dir>         index directory (default ./data/eval/<corpus>-<embedder hash>); reused while the
                           embedder, chunker settings and corpus content match, rebuilt otherwise
  --limit <n>              only the first n queries of the split
  --fit                    fit the fusion weights on this split (use train) and store them on the index generation
  --candidates <n>         candidates per retriever (default 1000, as Anserini's BEIR runs; the dense side returns
                           at most what the HNSW search gives)
Both:
  --out <dir>              where <name>.json, <name>.md and <name>.svg go (default ./eval-reports)
  --name <name>            report name (default: the suite's file name, or <corpus>-<split>)
  --baseline <report.json> compare with a stored report; exit 1 when a quality figure falls more than --tolerance
  --tolerance <x>          absolute drop allowed by the gate (default 0.02)
  --save-baseline <file>   also write this run's JSON report to <file>

The index is the service's: DATA_DIR / DATABASE_URL and EMBEDDING_MODEL as for npm start (suites).
Fusion weights: DENSE_WEIGHT when set, else those --fit stored on the generation, else the embedder's default.`;

const options = {
  help: { type: "boolean", short: "h" },
  ingest: { type: "string" },
  k: { type: "string", default: "10" },
  out: { type: "string", default: "./eval-reports" },
  name: { type: "string" },
  baseline: { type: "string" },
  tolerance: { type: "string", default: "0.02" },
  "save-baseline": { type: "string" },
  beir: { type: "string" },
  split: { type: "string", default: "test" },
  "data-dir": { type: "string" },
  limit: { type: "string" },
  fit: { type: "boolean", default: false },
  candidates: { type: "string", default: "1000" },
  "prompt-version": { type: "string" },
} as const;

export { EvalArgsSchema, evalEnv, type EvalArgs, type EvalConfig, type Io } from "./eval-types.js";

/**
 * The eval command. Returns the exit status: 0, 1 when the regression gate fails, 2 for bad input
 * (arguments, suite or BEIR files, configuration).
 */
export async function main(
  argv: string[],
  env: Record<string, string | undefined> = process.env,
  io: Io = stdio,
): Promise<number> {
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    if (values.help) {
      io.out(HELP);
      return 0;
    }
    const parsed = EvalArgsSchema.safeParse(values);
    if (!parsed.success) {
      throw new EvalInputError(parsed.error.issues.map((i) => i.message).join("; "));
    }
    if (positionals.length > 1) {
      throw new EvalInputError(`one suite at a time, got ${positionals.length}: ${positionals.join(" ")}`);
    }
    if (!values.beir && positionals.length === 0) {
      throw new EvalInputError("give a suite file or --beir <folder> (see --help)");
    }
    if (values.beir && positionals.length > 0) {
      throw new EvalInputError("give either a suite file or --beir, not both");
    }
    if (values.fit && !values.beir) {
      throw new EvalInputError("--fit works with --beir <folder> --split train");
    }
    const args: EvalArgs = {
      ...parsed.data,
      suite: positionals[0],
      ingest: values.ingest,
      out: values.out,
      name: values.name,
      baseline: values.baseline,
      saveBaseline: values["save-baseline"],
      beir: values.beir,
      split: values.split,
      dataDir: values["data-dir"],
      fit: values.fit,
      promptVersions: values["prompt-version"]
        ?.split(",")
        .map((v) => v.trim())
        .filter(Boolean),
    };
    if (args.promptVersions && values.beir) {
      throw new EvalInputError("--prompt-version works with a suite (BEIR runs retrieval only)");
    }
    for (const v of args.promptVersions ?? []) {
      if (!promptVersions("answer").includes(v)) {
        throw new EvalInputError(
          `--prompt-version ${v}: no prompts/answer/${v}.md (there are: ${promptVersions("answer").join(", ")})`,
        );
      }
    }
    const config = parseConfig(evalEnv, env);
    return args.beir ? await runBeir(args, config, io) : await runSuite(args, config, io);
  } catch (err) {
    if (
      err instanceof EvalInputError ||
      err instanceof ConfigError ||
      err instanceof DatabaseSetupError ||
      (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")
    ) {
      io.err(`eval: ${(err as Error).message}`);
      return 2;
    }
    throw err;
  }
}

const stdio: Io = { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) };

const invoked = process.argv[1] ? pathToFileURL(realpathSync(process.argv[1])).href : "";
if (import.meta.url === invoked) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`eval failed: ${(err as Error)?.stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
