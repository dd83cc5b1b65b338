import { z } from "zod";
import { commonEnv, parseConfig } from "../common/config.js";
import { openCatalog } from "../common/deps.js";
import { createLogger } from "../common/log.js";
import { runMain } from "../common/process.js";
import { KEYS_HELP, runKeysCommand, UsageError } from "./keys-command.js";

/** `npm run keys -- add|list|revoke`: manages the API keys table (README "Security"). */
runMain(async () => {
  const argv = process.argv.slice(2);
  if (argv.includes("--help") || argv.includes("-h")) {
    return void process.stdout.write(`${KEYS_HELP}\n`);
  }
  const config = parseConfig(z.object(commonEnv), process.env);
  const log = createLogger(config.LOG_LEVEL === "info" ? "warn" : config.LOG_LEVEL, { service: "keys" });
  const catalog = await openCatalog(config, log);
  try {
    await runKeysCommand(argv, catalog.database.db, (line) => process.stdout.write(`${line}\n`));
  } catch (err) {
    if (!(err instanceof UsageError)) {
      throw err;
    }
    process.stderr.write(`${err.message}\n\n${KEYS_HELP}\n`);
    process.exitCode = 2;
  } finally {
    await catalog.close();
  }
});
