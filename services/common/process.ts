import { DatabaseSetupError } from "../../pipelines/store/migrate.js";
import { ConfigError } from "./config.js";

/**
 * Runs a service's start-up. Configuration and database-setup errors print their message (which
 * says what to fix) and exit 1 without a stack trace; anything else prints the stack.
 */
export function runMain(start: () => Promise<void>): void {
  start().catch((err: unknown) => {
    if (err instanceof ConfigError || err instanceof DatabaseSetupError) {
      process.stderr.write(`Start-up failed: ${err.message}\n`);
    } else {
      process.stderr.write(`Start-up failed: ${(err as Error)?.stack ?? String(err)}\n`);
    }
    process.exit(1);
  });
}

/** Calls `stop` once on SIGTERM or SIGINT, then exits; a second signal exits at once. */
export function onShutdown(
  stop: () => Promise<void>,
  log: { info(m: string): void; error(m: string, f?: object): void },
) {
  let stopping = false;
  const handler = (signal: string) => {
    if (stopping) {
      process.exit(1);
    }
    stopping = true;
    log.info(`${signal} received, shutting down`);
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error("shutdown failed", { err });
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => handler("SIGTERM"));
  process.on("SIGINT", () => handler("SIGINT"));
}
