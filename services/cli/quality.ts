import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import { z } from "zod";
import { openDatabase } from "../../pipelines/store/database.js";
import { DatabaseSetupError } from "../../pipelines/store/migrate.js";
import { createQualityQueries, type QualityReport } from "../../pipelines/store/quality-queries.js";
import { apiEnv, commonEnv, ConfigError, env, parseConfig } from "../common/config.js";
import { runMain } from "../common/process.js";
import { qualityQuerySchema } from "../common/quality-window.js";
import { renderQuality } from "./quality-table.js";

const HELP = `npm run quality [-- --since 24h] [-- --until <time>] [-- --collection <name>] [-- --json] [-- --url http://host:port]

Prints the quality of the answers logged in a time window: queries, abstention rate, the mean of
each RAGAS-style metric (faithfulness, answerRelevancy, contextPrecision, contextUtilisation,
contextRecall, answerCorrectness) with the number of queries it is over, latency p50/p95/p99,
tokens per query, feedback counts, and the generator's cost (usage.costUsd) and billed tokens by
UTC day, collection and key. The same as GET /quality.

Where it reads from: as npm run status does (DATABASE_URL directly; PGlite's DATA_DIR directly, or
the running service at http://127.0.0.1:$PORT while it holds the database; --url / STATUS_URL).

Options:
  --since       start: an ISO 8601 time (2026-01-31, 2026-01-31T09:00:00Z) or a duration back
                from now (30m, 24h, 7d, 2w); default 24h
  --until       end, in the same forms; default now
  --collection  only queries asked of this collection
  --json        print the GET /quality body instead of a table
  --url         base URL of a running service to ask
  -h --help     this text`;

// STATUS_API_KEY is sent as X-API-Key when the service requires keys (README "Security").
const CliConfigSchema = z.object({
  ...commonEnv,
  PORT: apiEnv.PORT,
  STATUS_URL: env(z.url().optional()),
  STATUS_API_KEY: env(z.string().optional()),
});
type Window = { since?: string | undefined; until?: string | undefined; collection?: string | undefined };

async function fromHttp(base: string, w: Window, apiKey?: string): Promise<QualityReport> {
  const params = new URLSearchParams(Object.entries(w).filter((e): e is [string, string] => e[1] !== undefined));
  const url = `${base.replace(/\/+$/, "")}/quality${params.size ? `?${params}` : ""}`;
  const res = await fetch(url, {
    signal: AbortSignal.timeout(10_000),
    headers: apiKey ? { "x-api-key": apiKey } : {},
  }).catch((err: unknown) => {
    throw new ConfigError(`Cannot reach ${url}: ${(err as Error).message}. Is the service running (npm start)?`);
  });
  const body = (await res.json().catch(() => null)) as QualityReport | { error: { message: string } } | null;
  if (!res.ok || !body || "error" in body) {
    throw new ConfigError(
      `${url} answered ${res.status}: ${body && "error" in body ? body.error.message : "no JSON body"}`,
    );
  }
  return body;
}

async function fromDatabase(config: z.infer<typeof CliConfigSchema>, w: Window): Promise<QualityReport> {
  const parsed = qualityQuerySchema(new Date()).safeParse(
    Object.fromEntries(Object.entries(w).filter((e) => e[1] !== undefined)),
  );
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => i.message).join("; "));
  }
  const database = await openDatabase({
    databaseUrl: config.DATABASE_URL,
    dataDir: `${config.DATA_DIR}/pglite`,
    poolMax: 1,
  });
  try {
    return await createQualityQueries(database.db).summary(parsed.data);
  } finally {
    await database.close();
  }
}

runMain(async () => {
  const { values } = parseArgs({
    options: {
      since: { type: "string" },
      until: { type: "string" },
      collection: { type: "string" },
      json: { type: "boolean" },
      url: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    return void process.stdout.write(`${HELP}\n`);
  }
  const config = parseConfig(CliConfigSchema, process.env);
  const window: Window = { since: values.since, until: values.until, collection: values.collection };
  const httpBase = values.url ?? config.STATUS_URL;
  let report: QualityReport;
  if (httpBase) {
    report = await fromHttp(httpBase, window, config.STATUS_API_KEY);
  } else if (config.DATABASE_URL) {
    report = await fromDatabase(config, window);
  } else {
    if (!existsSync(`${config.DATA_DIR}/pglite`)) {
      throw new ConfigError(
        `No database in ${config.DATA_DIR}/pglite: start the service once (npm start), or set DATA_DIR.`,
      );
    }
    report = await fromDatabase(config, window).catch((err: unknown) => {
      // PGlite serves one process: while the service holds it, ask the service.
      if (err instanceof DatabaseSetupError && /in use by process/.test(err.message)) {
        return fromHttp(`http://127.0.0.1:${config.PORT}`, window, config.STATUS_API_KEY);
      }
      throw err;
    });
  }
  process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : renderQuality(report));
});
