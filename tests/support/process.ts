import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** A free loopback port (bound, read, released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface ServiceProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
  /** Resolves when the output contains `text`; fails if the process exits first or `ms` pass. */
  untilOutput(text: string, ms: number): Promise<void>;
}

/** Runs a service entry point as `npm start` does (tsx), with only the given variables changed. */
export function startService(entry: string, env: Record<string, string>): ServiceProcess {
  const child = spawn(process.execPath, ["--import", "tsx", entry], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const untilOutput = (text: string, ms: number) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!out.includes(text)) {
          return;
        }
        done();
        resolve();
      };
      const onExit = (code: number | null) => {
        done();
        reject(new Error(`exited ${code} before printing ${text}:\n${out}`));
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no ${text} within ${ms} ms:\n${out}`));
      }, ms);
      const done = () => {
        clearTimeout(timer);
        child.stdout!.off("data", check);
        child.stderr!.off("data", check);
        child.off("exit", onExit);
      };
      // Listeners added after the ones that append to `out`, so they see the new data.
      child.stdout!.on("data", check);
      child.stderr!.on("data", check);
      child.once("exit", onExit);
      if (child.exitCode !== null) {
        onExit(child.exitCode);
      } else {
        check();
      }
    });
  return {
    child,
    output: () => out,
    exited,
    untilOutput,
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
      }
      return exited;
    },
  };
}
