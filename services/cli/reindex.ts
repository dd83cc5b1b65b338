import { parseArgs } from "node:util";
import { z } from "zod";
import { commonEnv, parseConfig } from "../common/config.js";
import { createCoreDeps, embedderConfig } from "../common/deps.js";
import { createLogger } from "../common/log.js";
import { runMain } from "../common/process.js";
import { createProgress, type Progress } from "../common/progress.js";
import { startReindex } from "../common/reindex.js";

const HELP = `npm run reindex [-- --model <EMBEDDING_MODEL>]

Builds a new index generation with the configured embedder (or --model), while the current one keeps
answering, then switches to it and drops the old one. With the embedded PGlite database the service
must be stopped (PGlite serves one process); while it runs, use POST /admin/reindex instead.

Options:
  --model <name>  build with this EMBEDDING_MODEL (use-lite, onnx:<folder>, openai:<model>)
  -h --help       this text`;

runMain(async () => {
  const { values } = parseArgs({ options: { model: { type: "string" }, help: { type: "boolean", short: "h" } } });
  if (values.help) {
    return void process.stdout.write(`${HELP}\n`);
  }
  const config = parseConfig(z.object(commonEnv), process.env);
  const log = createLogger(config.LOG_LEVEL === "info" ? "warn" : config.LOG_LEVEL, { service: "reindex" });
  const core = await createCoreDeps(config, log);
  try {
    const target = { ...embedderConfig(config), ...(values.model && { model: values.model }) };
    let progress: Progress | undefined;
    let seen = 0;
    const { generationId, completion } = await startReindex(core, {
      embedder: target,
      chunker: config.CHUNKER,
      maxFileBytes: config.MAX_FILE_BYTES,
      retireGraceMs: 0,
      log,
      onProgress: (p) => {
        progress ??= createProgress({ label: `generation ${p.generationId}`, total: p.total });
        progress.tick(p.done - seen, `${p.failed} failed`);
        seen = p.done;
      },
    });
    process.stdout.write(`building generation ${generationId} with ${target.model}, chunker ${config.CHUNKER}\n`);
    const result = await completion;
    progress?.done(`${result.done} documents, ${result.failed} failed`);
    // The CLI exits now, so drop the retired generation here instead of after a grace period.
    if (result.retiredId !== null) {
      await core.store.dropGeneration(result.retiredId);
    }
    process.stdout.write(
      `switched to generation ${result.generationId}: ${result.done} documents, ${result.failed} failed` +
        `${result.retiredId !== null ? `; generation ${result.retiredId} dropped` : ""}\n`,
    );
  } finally {
    await core.close();
  }
});
