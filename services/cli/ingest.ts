import { stat } from "node:fs/promises";
import { dirname, relative, resolve, sep } from "node:path";
import { parseArgs } from "node:util";
import { z } from "zod";
import type { IngestOutcome } from "../../pipelines/ingest/index-file.js";
import { formatForPath } from "../../pipelines/parse/index.js";
import { DatabaseSetupError } from "../../pipelines/store/migrate.js";
import { commonEnv, ConfigError, parseConfig, queueEnv, watcherEnv } from "../common/config.js";
import { createCoreDeps, openCatalog } from "../common/deps.js";
import { createLogger, type Logger } from "../common/log.js";
import { runMain } from "../common/process.js";
import { describeOcr, tallyOcr } from "../common/ocr-progress.js";
import { createProgress } from "../common/progress.js";
import { createBullmqQueue } from "../common/queue/bullmq.js";
import { createInProcessQueue } from "../common/queue/in-process.js";
import { startTracing } from "../common/tracing.js";
import { walk } from "../common/walk.js";
import { createWorker } from "../common/ingest-worker.js";

const HELP = `npm run ingest -- <folder or file...> [--collection <name>] [--wait]

Indexes folders (every Markdown, text, HTML, PDF and Word .docx file under them; scanned PDF pages through OCR) and files into the configured
index, DATA_DIR's PGlite or DATABASE_URL, with the worker's own code: unchanged files are skipped,
an edited one re-embeds only its changed chunks. Shows progress, then lists every document that
failed with its reason; the exit status is 1 when any failed. Each folder (or a file's folder)
becomes a source, as a watched folder does.

With REDIS_URL and DATABASE_URL set (the scaled-out shape), the files are queued for the worker
processes (npm run worker) instead; --wait then waits until the queue is empty and reports the same
way. With the embedded PGlite database the service must be stopped (PGlite serves one process):
while it runs, copy the files into WATCH_DIRS instead.

Options:
  --collection <name>  collection of the documents (default: COLLECTION, "default")
  --wait               when queued for workers: wait for them and report failures
  -h --help            this text`;

const CliConfigSchema = z.object({ ...commonEnv, ...queueEnv, COLLECTION: watcherEnv.COLLECTION });
type CliConfig = z.infer<typeof CliConfigSchema>;

/** Files to index, grouped by the folder that becomes their source. */
type Targets = Map<string, string[]>;

interface Failure {
  path: string;
  reason: string;
}

async function resolveTargets(args: string[]): Promise<Targets> {
  const targets: Targets = new Map();
  const add = (root: string, file: string) => targets.set(root, [...(targets.get(root) ?? []), file]);
  for (const arg of args) {
    const abs = resolve(arg);
    const info = await stat(abs).catch(() => null);
    if (info?.isDirectory()) {
      targets.set(abs, targets.get(abs) ?? []);
      for await (const file of walk(abs, () => {})) {
        if (formatForPath(file) !== null) {
          add(abs, file);
        }
      }
    } else if (info?.isFile()) {
      if (formatForPath(abs) === null) {
        throw new ConfigError(`${arg}: not a format this service reads (Markdown, text, HTML, PDF, .docx).`);
      }
      add(dirname(abs), abs);
    } else {
      throw new ConfigError(`${arg}: no such file or folder.`);
    }
  }
  return targets;
}

const relPath = (root: string, abs: string) => relative(root, abs).split(sep).join("/");

/** Runs the jobs here with the worker's handlers, on an in-process queue. */
async function ingestHere(
  config: CliConfig,
  targets: Targets,
  collection: string,
  log: Logger,
): Promise<{ done: number; failures: Failure[]; outcomes: Map<string, number> }> {
  const core = await createCoreDeps(config, log).catch((err: unknown) => {
    if (err instanceof DatabaseSetupError && /in use by process/.test(err.message)) {
      throw new ConfigError(
        `${err.message}\nThe service holds the PGlite database: stop it first, or copy the files into WATCH_DIRS.`,
      );
    }
    throw err;
  });
  try {
    const { mismatch } = core.runtime.current();
    if (mismatch) {
      throw new ConfigError(
        `The index was built with ${mismatch.indexed.model}, this process embeds with ${mismatch.current.model}: ` +
          "run npm run reindex, or set EMBEDDING_MODEL back, before ingesting.",
      );
    }
    const failures: Failure[] = [];
    const outcomes = new Map<string, number>();
    const pathOf = new Map<string, string>(); // job id → path, for jobs that exhaust their attempts
    const total = [...targets.values()].reduce((n, files) => n + files.length, 0);
    const progress = createProgress({ label: "ingest", total });
    // A scanned PDF spends a minute in OCR: the line says which page, so the run does not look stuck.
    const ocr = tallyOcr(core.ocr, (e) => progress.tick(0, `OCR ${e.path} page ${e.page} (${e.done}/${e.total})`));
    const queue = createInProcessQueue({
      concurrency: config.WORKER_CONCURRENCY,
      onError: (job, err, willRetry) => {
        if (willRetry) {
          return log.warn("ingest attempt failed; retrying", { job: job.id, err });
        }
        failures.push({
          path: pathOf.get(job.id) ?? job.id,
          reason: `${(err as Error).message} (after ${job.attempt} attempts)`,
        });
        progress.tick(1);
      },
    });
    const { handlers } = createWorker({ core, queue, log, maxFileBytes: config.MAX_FILE_BYTES });
    queue.process({
      ...handlers,
      "index-file": async (p) => {
        const outcome = (await handlers["index-file"](p)) as IngestOutcome;
        outcomes.set(outcome.status, (outcomes.get(outcome.status) ?? 0) + 1);
        if (outcome.status === "failed") {
          failures.push({ path: p.path, reason: `${outcome.code}: ${outcome.message}` });
        }
        progress.tick(1, p.path);
        return outcome;
      },
    });
    for (const [root, files] of targets) {
      const sourceId = await core.catalog.upsertSource(root, collection);
      for (const file of files) {
        const path = relPath(root, file);
        const { id } = await queue.enqueue("index-file", { sourceId, path });
        pathOf.set(id, path);
      }
    }
    await queue.idle();
    await queue.close();
    ocr.stop();
    progress.done([`${total} files`, describeOcr(ocr.tally)].filter(Boolean).join(", "));
    return { done: total, failures, outcomes };
  } finally {
    await core.close();
  }
}

/** Queues the jobs for the worker processes on BullMQ; with `wait`, reports what they recorded. */
async function ingestViaWorkers(
  config: CliConfig & { REDIS_URL: string },
  targets: Targets,
  collection: string,
  wait: boolean,
  log: Logger,
) {
  const catalog = await openCatalog(config, log);
  const queue = createBullmqQueue({ url: config.REDIS_URL, prefix: config.QUEUE_PREFIX, log });
  try {
    const queued: Array<{ sourceId: string; path: string }> = [];
    for (const [root, files] of targets) {
      const sourceId = await catalog.catalog.upsertSource(root, collection);
      for (const file of files) {
        const job = { sourceId, path: relPath(root, file) };
        await queue.enqueue("index-file", job);
        queued.push(job);
      }
    }
    if (!wait) {
      return { queued: queued.length, failures: undefined };
    }
    const progress = createProgress({ label: "waiting for the workers", total: queued.length });
    let last = 0;
    for (;;) {
      const depth = await queue.depth();
      const left = Math.min(queued.length, depth.waiting + depth.active);
      progress.tick(Math.max(0, queued.length - left - last));
      last = Math.max(last, queued.length - left);
      if (left === 0) {
        break;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    await queue.idle();
    progress.done(`${queued.length} files`);
    const failures: Failure[] = [];
    for (const job of queued) {
      const doc = await catalog.catalog.getDocument(job.sourceId, job.path);
      if (!doc) {
        failures.push({
          path: job.path,
          reason: "not indexed: the job failed before the document was recorded (see the worker's log)",
        });
      } else if (doc.status === "failed") {
        failures.push({ path: job.path, reason: `${doc.errorCode}: ${doc.error}` });
      }
    }
    return { queued: queued.length, failures };
  } finally {
    await queue.close();
    await catalog.close();
  }
}

function report(failures: Failure[]) {
  if (failures.length === 0) {
    return;
  }
  process.stdout.write(`${failures.length} failed:\n`);
  for (const f of failures) {
    process.stdout.write(`  ${f.path}: ${f.reason}\n`);
  }
  process.exitCode = 1;
}

runMain(async () => {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { collection: { type: "string" }, wait: { type: "boolean" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help) {
    return void process.stdout.write(`${HELP}\n`);
  }
  if (positionals.length === 0) {
    throw new ConfigError(`Nothing to ingest: name at least one folder or file.\n\n${HELP}`);
  }
  const config = parseConfig(CliConfigSchema, process.env);
  const collection = values.collection ?? config.COLLECTION;
  if (!watcherEnv.COLLECTION.safeParse(collection).success) {
    throw new ConfigError(`--collection: "${collection}" must be 1-128 letters, digits, '.', '_' or '-'.`);
  }
  // Progress goes to stderr; the logger's info lines would break it up, so the CLI logs warnings and up.
  const log = createLogger(config.LOG_LEVEL === "info" ? "warn" : config.LOG_LEVEL, { service: "ingest" });
  const tracing = startTracing(config, "ingest");
  try {
    const targets = await resolveTargets(positionals);
    // Workers on other hosts can share only a PostgreSQL server; PGlite is this process's alone.
    if (config.REDIS_URL && config.DATABASE_URL) {
      const { queued, failures } = await ingestViaWorkers(
        { ...config, REDIS_URL: config.REDIS_URL },
        targets,
        collection,
        values.wait ?? false,
        log,
      );
      if (!failures) {
        return void process.stdout.write(`queued ${queued} files for the workers (add --wait to wait for them)\n`);
      }
      process.stdout.write(`${queued - failures.length} of ${queued} files indexed or unchanged\n`);
      return report(failures);
    }
    const { done, failures, outcomes } = await ingestHere(config, targets, collection, log);
    const counts = ["indexed", "unchanged", "removed", "superseded"]
      .filter((s) => outcomes.get(s))
      .map((s) => `${outcomes.get(s)} ${s}`);
    process.stdout.write(
      `${done} file${done === 1 ? "" : "s"}: ${[...counts, `${failures.length} failed`].join(", ")}\n`,
    );
    report(failures);
  } finally {
    await tracing.shutdown();
  }
});
