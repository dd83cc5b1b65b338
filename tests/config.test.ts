import { describe, expect, it } from "vitest";
import { loadAllInOneConfig } from "../services/all-in-one/config.js";
import { loadApiConfig } from "../services/api/config.js";
import { ConfigError } from "../services/common/config.js";
import { loadWatcherConfig, watchDirs } from "../services/watcher/config.js";
import { freePort, startService } from "./support/process.js";
import { tempDir } from "./support/temp-dir.js";

const configError = (fn: () => unknown): ConfigError => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error("expected a ConfigError");
};

describe("configuration", () => {
  it("defaults match ARCHITECTURE.md when nothing is set", () => {
    const c = loadAllInOneConfig({});
    expect(c).toMatchObject({
      PORT: 8080,
      DATA_DIR: "./data",
      WATCH_DIRS: "./docs",
      EMBEDDING_MODEL: "use-lite",
      GENERATOR: "extractive",
    });
    expect(c.DATABASE_URL).toBeUndefined();
    expect(c.REDIS_URL).toBeUndefined();
  });

  it("empty strings count as unset, so compose files can pass blanks", () => {
    expect(loadApiConfig({ PORT: "", DATABASE_URL: " " })).toMatchObject({ PORT: 8080, DATABASE_URL: undefined });
  });

  it.each([
    ["PORT", "abc"],
    ["PORT", "70000"],
    ["DATABASE_URL", "mysql://localhost/db"],
    ["REDIS_URL", "localhost:6379"],
    ["EMBEDDING_MODEL", "word2vec"],
    ["GENERATOR", "gpt"],
    ["LOG_LEVEL", "loud"],
    ["MAX_BODY_BYTES", "-1"],
    ["DENSE_WEIGHT", "1.5"],
    ["COLLECTION", "has spaces"],
  ])("a bad %s=%s names the variable and the value", (name, value) => {
    const err = configError(() => loadAllInOneConfig({ [name]: value }));
    expect(err.message).toContain(`${name}: `);
    expect(err.message).toContain(JSON.stringify(value));
  });

  it("lists every bad variable at once", () => {
    const err = configError(() => loadWatcherConfig({ PORT: "x", LOG_LEVEL: "y", DATABASE_POOL_MAX: "0" }));
    expect(err.message).toMatch(/LOG_LEVEL/);
    expect(err.message).toMatch(/DATABASE_POOL_MAX/);
    // The watcher has no HTTP port: it does not read PORT at all.
    expect(err.message).not.toMatch(/PORT:/);
  });

  it("splits WATCH_DIRS on commas", () => {
    expect(watchDirs(" ./a, ./b ,,")).toEqual(["./a", "./b"]);
  });

  it("RESCAN_INTERVAL is a duration: 5 minutes by default, a bare number in seconds, 0 turns the schedule off", () => {
    expect(loadWatcherConfig({}).RESCAN_INTERVAL).toBe(300_000);
    expect(loadWatcherConfig({ RESCAN_INTERVAL: "90" }).RESCAN_INTERVAL).toBe(90_000);
    expect(loadWatcherConfig({ RESCAN_INTERVAL: "2m" }).RESCAN_INTERVAL).toBe(120_000);
    expect(loadWatcherConfig({ RESCAN_INTERVAL: "1h" }).RESCAN_INTERVAL).toBe(3_600_000);
    expect(loadWatcherConfig({ RESCAN_INTERVAL: "1500ms" }).RESCAN_INTERVAL).toBe(1500);
    expect(loadWatcherConfig({ RESCAN_INTERVAL: "0" }).RESCAN_INTERVAL).toBe(0);
    expect(configError(() => loadWatcherConfig({ RESCAN_INTERVAL: "five minutes" })).message).toMatch(
      /RESCAN_INTERVAL: must be a duration such as 300s, 5m or 1h .*\(got "five minutes"\)/,
    );
    expect(configError(() => loadWatcherConfig({ RESCAN_INTERVAL: "-5m" })).message).toMatch(/RESCAN_INTERVAL/);
  });
});

// The real entry point, as `npm start` runs it: a bad setting stops it with a message, no stack.
describe("npm start refuses bad configuration", () => {
  const dataDir = tempDir("rag-cfg-");

  it.each([
    ["PORT", { PORT: "not-a-port" }, /PORT: .*"not-a-port"/],
    [
      "EMBEDDING_MODEL without a key",
      { EMBEDDING_MODEL: "openai:text-embedding-3-small" },
      /EMBEDDING_API_KEY: required/,
    ],
    [
      "EMBEDDING_MODEL unreachable",
      { EMBEDDING_MODEL: "openai:m", EMBEDDING_BASE_URL: "http://127.0.0.1:1/v1", EMBEDDING_TIMEOUT_MS: "500" },
      /EMBEDDING_MODEL: cannot load openai:m: .*fetch failed/,
    ],
    [
      "EMBEDDING_MODEL onnx without the package",
      { EMBEDDING_MODEL: "onnx:/nonexistent/model" },
      /EMBEDDING_MODEL: cannot load onnx:\/nonexistent\/model: .*config.json is missing/,
    ],
    ["GENERATOR=openai without a key", { GENERATOR: "openai" }, /LLM_API_KEY: required/],
    [
      "GENERATOR=llamacpp without the package",
      { GENERATOR: "llamacpp:/models/x.gguf" },
      /needs node-llama-cpp.*npm install node-llama-cpp/,
    ],
    [
      "WATCH_DIRS",
      { WATCH_DIRS: "/nonexistent/rag-folder" },
      /WATCH_DIRS: \/nonexistent\/rag-folder is not a directory/,
    ],
    [
      "DATABASE_URL without pgvector",
      { DATABASE_URL: "postgres://postgres@127.0.0.1:5432/postgres" },
      /does not have the pgvector extension/,
    ],
    [
      "DATABASE_URL unreachable",
      { DATABASE_URL: "postgres://postgres@127.0.0.1:1/none" },
      /Cannot reach the PostgreSQL server named by DATABASE_URL/,
    ],
  ])(
    "%s",
    async (_name, env, message) => {
      const port = String(await freePort());
      const svc = startService("services/all-in-one/main.ts", { PORT: port, DATA_DIR: dataDir, ...env });
      const timer = setTimeout(() => svc.child.kill("SIGKILL"), 60_000);
      const code = await svc.exited;
      clearTimeout(timer);
      expect(code).toBe(1);
      expect(svc.output()).toMatch(/Start-up failed: /);
      expect(svc.output()).toMatch(message);
      expect(svc.output()).not.toMatch(/\n\s+at .*\.(ts|js):\d+/);
    },
    70_000,
  );
});
