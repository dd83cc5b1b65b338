import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { createAnswerers } from "../common/answerers.js";
import { createAuthenticator } from "../api/auth.js";
import type { ApiDeps } from "../api/context.js";
import type { Principal, Scope } from "../common/api-keys.js";
import { ConfigError } from "../common/config.js";
import { createCoreDeps, type CoreDeps } from "../common/deps.js";
import { createLogger } from "../common/log.js";
import { runMain } from "../common/process.js";
import { createQueue } from "../common/queue/index.js";
import type { JobQueue } from "../common/queue/types.js";
import { startTracing } from "../common/tracing.js";
import { watcherFromConfig } from "../watcher/config.js";
import type { SourceWatcher } from "../watcher/watcher.js";
import { createWorker } from "../common/ingest-worker.js";
import { createRagBackend } from "./backend.js";
import { loadMcpConfig } from "./config.js";
import { createMcpServer } from "./tools.js";

// Until the key is resolved: nothing.
const NO_ACCESS: Principal = { keyId: null, scopes: new Set(), collections: [] };

/**
 * `npm run mcp`: the MCP tools over stdio, for desktop assistants that start the server
 * themselves (Claude Desktop, Cursor). Stdout is the protocol channel: logs go to stderr, and
 * console tracing is refused. With PGlite it also watches and indexes WATCH_DIRS (it owns
 * DATA_DIR while it runs); with DATABASE_URL it reads the index the service's workers keep.
 */
runMain(async () => {
  const config = loadMcpConfig(process.env);
  const log = createLogger(config.LOG_LEVEL, { service: "mcp" });
  if (config.OTEL_TRACES_EXPORTER === "console") {
    throw new ConfigError(
      "OTEL_TRACES_EXPORTER: console writes spans to stdout, which is the MCP channel of `npm run mcp`; use otlp or none.",
    );
  }
  const tracing = startTracing(config, "mcp");
  const { generator, reranker, metricsJudge, rewriter } = await createAnswerers(config, log);
  // Connected before the database and model are loaded (that takes a while), so a desktop client's
  // initialize is answered at once; until they are, every tool answers index_not_ready. The key's
  // principal starts with no access and is set before the core is, so nothing runs unscoped.
  const deps: ApiDeps = { config, log, generator, reranker, metricsJudge, rewriter, core: null };
  const asker = { principal: NO_ACCESS, requestId: `mcp-stdio-${process.pid}`, log };
  const server = createMcpServer(createRagBackend(deps, asker), config.MAX_QUESTION_CHARS);
  let core: CoreDeps | undefined;
  let watcher: SourceWatcher | undefined;
  let queue: JobQueue | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (code = 0) =>
    (stopping ??= (async () => {
      await server.close();
      await watcher?.close();
      await queue?.close();
      await core?.close();
      await tracing.shutdown();
    })().then(
      () => process.exit(code),
      (err: unknown) => {
        log.error("shutdown failed", { err });
        process.exit(1);
      },
    ));
  process.on("SIGTERM", () => void stop());
  process.on("SIGINT", () => void stop());
  // The client closing our stdin (quitting) ends the session and the process.
  process.stdin.on("end", () => void stop());
  await server.connect(new StdioServerTransport());

  core = await createCoreDeps(config, log);
  const watch = config.MCP_WATCH === "true" || (config.MCP_WATCH === "auto" && !config.DATABASE_URL);
  queue = watch || config.REDIS_URL ? createQueue(config, { log }) : undefined;
  deps.queue = queue;
  // The same keys as the HTTP API: open while no key exists anywhere, else MCP_API_KEY must be one.
  const coreNow = core;
  const who = await createAuthenticator({ envKeys: config.API_KEYS, core: () => coreNow }).resolve(config.MCP_API_KEY);
  if ("error" in who || !["ask", "admin"].some((s) => who.principal.scopes.has(s as Scope))) {
    const why =
      "error" in who
        ? who.error === "missing"
          ? "MCP_API_KEY: this service requires API keys; set MCP_API_KEY to a key with the ask scope."
          : "MCP_API_KEY: the key is not valid (unknown or revoked)."
        : "MCP_API_KEY: the key lacks the ask scope the tools need.";
    process.stderr.write(`Start-up failed: ${why}\n`);
    return void stop(1);
  }
  asker.principal = who.principal;
  if (watch && queue) {
    createWorker({ core, queue, log, maxFileBytes: config.MAX_FILE_BYTES }).start();
    watcher = watcherFromConfig(config, { catalog: core.catalog, queue, log });
    await watcher.start();
  }
  deps.core = core;
  log.info("mcp server ready on stdio", {
    generation: core.runtime.current().generation.id,
    watching: Boolean(watcher),
    collections: who.principal.collections ?? "all",
  });
});
