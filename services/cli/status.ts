import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import { z } from "zod";
import { openDatabase } from "../../pipelines/store/database.js";
import { DatabaseSetupError } from "../../pipelines/store/migrate.js";
import { apiEnv, commonEnv, ConfigError, env, parseConfig, queueEnv } from "../common/config.js";
import { runMain } from "../common/process.js";
import { createBullmqQueue } from "../common/queue/bullmq.js";
import { statusReport, type StatusReport } from "../common/status-report.js";
import { renderStatus } from "./status-table.js";

const HELP = `npm run status [-- --json] [-- --url http://host:port]

Prints the index status: generation and embedder, documents indexed/pending/failed/stale per
source, last scan and event, freshness lag, queue depth and workers.

Where it reads from:
  DATABASE_URL set      the PostgreSQL database directly (queue depth too when REDIS_URL is set)
  PGlite (the default)  DATA_DIR/pglite directly when no service holds it; while \`npm start\`
                        runs (PGlite serves one process) the service's GET /status at
                        http://127.0.0.1:$PORT instead
  --url <base>          that service's GET /status, whatever the database

Options:
  --json     print the status as JSON (the GET /status body) instead of a table
  --url      base URL of a running service to ask
  -h --help  this text`;

const CliConfigSchema = z.object({
  ...commonEnv,
  PORT: apiEnv.PORT,
  REDIS_URL: queueEnv.REDIS_URL,
  QUEUE_PREFIX: queueEnv.QUEUE_PREFIX,
  STATUS_URL: env(z.url().optional()),
  /** Sent as X-API-Key when the service requires keys (README "Security"). */
  STATUS_API_KEY: env(z.string().optional()),
});

async function fromHttp(base: string, apiKey?: string): Promise<StatusReport> {
  const url = `${base.replace(/\/+$/, "")}/status`;
  const res = await fetch(url, {
    signal: AbortSignal.timeout(10_000),
    headers: apiKey ? { "x-api-key": apiKey } : {},
  }).catch((err: unknown) => {
    throw new ConfigError(`Cannot reach ${url}: ${(err as Error).message}. Is the service running (npm start)?`);
  });
  const body = (await res.json().catch(() => null)) as StatusReport | { error: { message: string } } | null;
  if (!res.ok || !body || "error" in body) {
    throw new ConfigError(
      `${url} answered ${res.status}: ${body && "error" in body ? body.error.message : "no JSON body"}`,
    );
  }
  return body;
}

async function fromDatabase(config: z.infer<typeof CliConfigSchema>): Promise<StatusReport> {
  const database = await openDatabase({
    databaseUrl: config.DATABASE_URL,
    dataDir: `${config.DATA_DIR}/pglite`,
    poolMax: 1,
  });
  const queue = config.REDIS_URL
    ? createBullmqQueue({ url: config.REDIS_URL, prefix: config.QUEUE_PREFIX })
    : undefined;
  try {
    // Dates become strings as they would over HTTP, so both paths print the same way.
    return JSON.parse(JSON.stringify(await statusReport(database.db, { mismatch: null, queue }))) as StatusReport;
  } finally {
    await queue?.close();
    await database.close();
  }
}

runMain(async () => {
  const { values } = parseArgs({
    options: { json: { type: "boolean" }, url: { type: "string" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help) {
    return void process.stdout.write(`${HELP}\n`);
  }
  const config = parseConfig(CliConfigSchema, process.env);
  const httpBase = values.url ?? config.STATUS_URL;
  let report: StatusReport;
  if (httpBase) {
    report = await fromHttp(httpBase, config.STATUS_API_KEY);
  } else if (config.DATABASE_URL) {
    report = await fromDatabase(config);
  } else {
    if (!existsSync(`${config.DATA_DIR}/pglite`)) {
      throw new ConfigError(
        `No database in ${config.DATA_DIR}/pglite: start the service once (npm start), or set DATA_DIR.`,
      );
    }
    report = await fromDatabase(config).catch((err: unknown) => {
      // PGlite serves one process: while the service holds it, ask the service.
      if (err instanceof DatabaseSetupError && /in use by process/.test(err.message)) {
        return fromHttp(`http://127.0.0.1:${config.PORT}`, config.STATUS_API_KEY);
      }
      throw err;
    });
  }
  process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : renderStatus(report));
});
