/**
 * Faults under load (issue 14), through real processes: a watcher and two ingestion workers on
 * BullMQ, PGlite behind pglite-socket in its own process (the `pg` path), and a Redis of its own
 * (redis-server on a random port 6400-6499, never the shared 6379). Figures only, no assertions.
 *
 *   npm run bench:faults -- [--files 1000] [--kills 20] [--redis-down 5] [--db-down 5] [--clients 4]
 *                           [--only baseline,kills,redis,db] [--lock-ms 30000]
 *
 * - baseline: the ingest of --files small Markdown files (about two chunks each) with no fault.
 * - kills: the same ingest with --kills `kill -9`s of a worker spread over it (at even steps of
 *   progress, the two workers in turn); a killed worker is started again at once, as a supervisor
 *   would.
 * - redis: the same ingest with Redis killed at 40% and started again --redis-down seconds later,
 *   empty (no persistence: `--save "" --appendonly no`), the worst case for the queue.
 * - db: the API process (`services/api/main.ts`) answering --clients closed-loop /ask clients from
 *   the baseline's index while its database process is killed and started again --db-down seconds
 *   later on the same data and port; the API is never restarted.
 * For each ingest: seconds to complete (every file indexed at its hash, or failed with a reason),
 * documents lost (on disk, but neither indexed nor failed with a reason, when the queue has run dry)
 * and stale (indexed with another hash than the file's), with the machine's load.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Queue } from "bullmq";
import pg from "pg";
import { openDatabase } from "../pipelines/store/database.js";
import { QUEUE_NAME } from "../services/common/queue/bullmq.js";
import { freePort, type ServiceProcess, startService } from "../tests/support/process.js";

const { values: args } = parseArgs({
  options: {
    files: { type: "string", default: "1000" },
    kills: { type: "string", default: "20" },
    "redis-down": { type: "string", default: "5" },
    "db-down": { type: "string", default: "5" },
    clients: { type: "string", default: "4" },
    only: { type: "string", default: "baseline,kills,redis,db" },
    "lock-ms": { type: "string", default: "30000" },
  },
});
const FILES = Number(args.files);
const ONLY = new Set(args.only.split(","));
const TIMEOUT_MS = 30_000;
const work = mkdtempSync(join(tmpdir(), "rag-bench-faults-"));
const children: ChildProcess[] = [];
const load = () => loadavg()[0]!.toFixed(1);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sha256 = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");
const secs = (ms: number) => (ms / 1000).toFixed(1);

// ---------------------------------------------------------------- corpus
const WORDS = (
  "river stone lantern orchard harbour meadow copper violet thunder glacier ember quartz falcon willow " +
  "canyon prairie beacon saddle timber marble cobalt juniper harvest tundra pepper cedar anchor velvet"
).split(" ");

/** File i: two paragraphs of words no other file has in that order, about two USE-Lite chunks. */
function fileText(i: number): string {
  const para = (p: number) =>
    Array.from({ length: 55 }, (_, k) => `${WORDS[(i * 7 + p * 5 + k * 3) % WORDS.length]}${(i * 31 + k) % 211}`);
  return `# Note ${i}\n\n${para(0).join(" ")}.\n\n${para(1).join(" ")}.\n`;
}

function writeCorpus(dir: string) {
  for (let i = 0; i < FILES; i++) {
    const sub = join(dir, `d${i % 10}`);
    mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, `note-${i}.md`), fileText(i));
  }
}
const corpusPaths = () => Array.from({ length: FILES }, (_, i) => `d${i % 10}/note-${i}.md`);

// ---------------------------------------------------------------- processes
function track(p: ServiceProcess) {
  children.push(p.child);
  return p;
}

/** A Redis of this bench's own on a random port in 6400-6499; restartable on the same port. */
async function startRedis(port?: number): Promise<{ port: number; child: ChildProcess }> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const p = port ?? 6400 + Math.floor(Math.random() * 100);
    const child = spawn("redis-server", ["--port", String(p), "--save", "", "--appendonly", "no"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(child);
    let out = "";
    const ok = await new Promise<boolean>((resolve) => {
      child.stdout!.on("data", (d) => {
        out += d;
        if (out.includes("Ready to accept connections")) {
          resolve(true);
        }
      });
      child.once("exit", () => resolve(false));
    });
    if (ok) {
      return { port: p, child };
    }
    if (port) {
      throw new Error(`redis-server did not start on ${port}:\n${out}`);
    }
  }
  throw new Error("no free port for redis-server in 6400-6499");
}

/** PGlite behind pglite-socket in its own process (bench/pglite-server.ts). */
async function startDb(dataDir: string, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", "bench/pglite-server.ts", dataDir, String(port)], {
    cwd: join(import.meta.dirname, ".."),
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    let out = "";
    const on = (d: Buffer) => {
      out += d;
      if (out.includes("listening")) {
        resolve();
      }
    };
    child.stdout!.on("data", on);
    child.stderr!.on("data", on);
    child.once("exit", (code) => reject(new Error(`pglite-server exited ${code}:\n${out}`)));
  });
  return child;
}

const killHard = async (child: ChildProcess) => {
  if (child.exitCode === null && child.signalCode === null) {
    const gone = new Promise((r) => child.once("exit", r));
    child.kill("SIGKILL");
    await gone;
  }
};

// ---------------------------------------------------------------- one ingest
interface IngestResult {
  name: string;
  completeMs: number | null;
  indexed: number;
  failed: number;
  lost: number;
  stale: number;
  failedReasons: Record<string, number>;
  jobsFailed: number;
  /** Jobs still waiting or running at the end (the deadline came first): their files are unfinished. */
  queued: number;
  stallMs?: number;
  redisDownMs?: number;
  kills: number;
  load: string;
}

async function ingest(name: string, redisPort: number, fault: "none" | "kills" | "redis"): Promise<IngestResult> {
  const dir = join(work, name);
  const docsDir = join(dir, "docs");
  mkdirSync(docsDir, { recursive: true });
  writeCorpus(docsDir);
  const dbPort = await freePort();
  const db = await startDb(join(dir, "pglite"), dbPort);
  const url = `postgres://postgres:postgres@127.0.0.1:${dbPort}/postgres`;
  // Migrate before the processes start: in one PGlite session their migration locks cannot exclude each other.
  const setup = await openDatabase({ databaseUrl: url, poolMax: 1 });
  await setup.migrate();
  await setup.close();
  const prefix = `faults-${name}-${process.pid}`;
  const redisUrl = `redis://127.0.0.1:${redisPort}`;
  const env = {
    DATABASE_URL: url,
    DATABASE_POOL_MAX: "4",
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: prefix,
    WATCH_DIRS: docsDir,
    DATA_DIR: dir,
    WORKER_LOCK_MS: args["lock-ms"],
    LOG_LEVEL: "warn",
  };
  const workers: ServiceProcess[] = [];
  const startWorker = () => track(startService("services/worker/main.ts", { ...env, LOG_LEVEL: "info" }));
  for (let w = 0; w < 2; w++) {
    workers.push(startWorker());
  }
  await Promise.all(workers.map((w) => w.untilOutput('"msg":"ready"', 300_000)));
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  client.on("error", () => {});
  const counts = async () => {
    const r = await client.query<{ status: string; n: string }>(
      "select status, count(*)::text as n from documents group by status",
    );
    const m = Object.fromEntries(r.rows.map((row) => [row.status, Number(row.n)]));
    return { indexed: m.indexed ?? 0, failed: m.failed ?? 0, pending: m.pending ?? 0 };
  };
  const t0 = Date.now();
  const watcher = track(startService("services/watcher/main.ts", { ...env, LOG_LEVEL: "info" }));
  const queue = new Queue(QUEUE_NAME, { connection: { url: redisUrl, maxRetriesPerRequest: 1 }, prefix });
  queue.on("error", () => {});
  let kills = 0;
  let redisKilledAt: number | undefined;
  let redisBackAt: number | undefined;
  let stallMs: number | undefined;
  let lastDone = 0;
  let completeMs: number | null = null;
  let dryPolls = 0;
  const deadline = Date.now() + Math.max(600_000, FILES * 2000);
  let redis: ChildProcess | undefined = children.find((c) => c.spawnargs.includes(String(redisPort)));
  while (Date.now() < deadline) {
    await sleep(500);
    const c = await counts().catch(() => null);
    if (!c) {
      continue;
    }
    const done = c.indexed + c.failed;
    if (redisBackAt !== undefined && stallMs === undefined && c.indexed > lastDone) {
      stallMs = Date.now() - redisKilledAt!;
    }
    if (redisBackAt === undefined || stallMs !== undefined) {
      lastDone = Math.max(lastDone, c.indexed);
    }
    if (done >= FILES) {
      completeMs = Date.now() - t0;
      break;
    }
    if (fault === "kills" && kills < Number(args.kills) && done >= ((kills + 1) / (Number(args.kills) + 1)) * FILES) {
      const i = kills % workers.length;
      await killHard(workers[i]!.child);
      workers[i] = startWorker();
      kills++;
    }
    if (fault === "redis" && redisKilledAt === undefined && done >= 0.4 * FILES && redis) {
      redisKilledAt = Date.now();
      lastDone = c.indexed;
      await killHard(redis);
      await sleep(Number(args["redis-down"]) * 1000);
      redis = (await startRedis(redisPort)).child;
      redisBackAt = Date.now();
    }
    // The queue ran dry with files unaccounted for: they are lost, unless a worker is still starting.
    const depth = await queue.getJobCounts("waiting", "active", "delayed", "prioritized").catch(() => null);
    const busy = depth === null || Object.values(depth).some((n) => n > 0);
    dryPolls = busy ? 0 : dryPolls + 1;
    if (dryPolls >= 120) {
      break;
    }
  }
  // Files still queued or running when the deadline came are unfinished, not lost.
  const left = await queue.getJobCounts("waiting", "active", "delayed", "prioritized").catch(() => ({}));
  const queued = Object.values(left).reduce((a, b) => a + b, 0);
  const jobsFailed = await queue.getJobCountByTypes("failed").catch(() => -1);
  const failedJobs = await queue.getFailed(0, 20).catch(() => []);
  for (const j of failedJobs.slice(0, 5)) {
    console.log(`  failed job ${j.id}: ${j.failedReason}`);
  }
  // Classify every file on disk against the catalog.
  const rows = await client.query<{ path: string; status: string; content_hash: string | null; error_code: string }>(
    "select path, status, content_hash, error_code from documents",
  );
  const byPath = new Map(rows.rows.map((r) => [r.path, r]));
  let indexed = 0;
  let failed = 0;
  let lost = 0;
  let stale = 0;
  const failedReasons: Record<string, number> = {};
  for (const path of corpusPaths()) {
    const row = byPath.get(path);
    const hash = sha256(readFileSync(join(docsDir, path)));
    if (row?.status === "indexed" && row.content_hash === hash) {
      indexed++;
    } else if (row?.status === "indexed") {
      stale++;
    } else if (row?.status === "failed" && row.error_code) {
      failed++;
      failedReasons[row.error_code] = (failedReasons[row.error_code] ?? 0) + 1;
    } else {
      lost++;
    }
  }
  const result: IngestResult = {
    name,
    completeMs,
    indexed,
    failed,
    lost,
    stale,
    failedReasons,
    jobsFailed,
    queued,
    kills,
    load: load(),
    ...(stallMs !== undefined && { stallMs }),
    ...(redisBackAt !== undefined && { redisDownMs: redisBackAt - redisKilledAt! }),
  };
  console.log(JSON.stringify(result));
  await client.end();
  await queue.obliterate({ force: true }).catch(() => {});
  await queue.close();
  await Promise.all([watcher, ...workers].map((p) => p.stop()));
  await killHard(db);
  return result;
}

// ---------------------------------------------------------------- /ask while the database restarts
async function askDuringDbRestart(dataDir: string) {
  const dbPort = await freePort();
  let db = await startDb(dataDir, dbPort);
  const apiPort = await freePort();
  const api = track(
    startService("services/api/main.ts", {
      DATABASE_URL: `postgres://postgres:postgres@127.0.0.1:${dbPort}/postgres`,
      DATABASE_POOL_MAX: "4",
      PORT: String(apiPort),
      HOST: "127.0.0.1",
      DATA_DIR: dataDir,
      LOG_LEVEL: "info",
    }),
  );
  await api.untilOutput('"msg":"ready"', 300_000);
  const base = `http://127.0.0.1:${apiPort}`;
  const samples: Array<{ at: number; status: number; retryAfter: string | null; ms: number }> = [];
  let stop = false;
  const client = async (c: number) => {
    for (let q = 0; !stop; q++) {
      const started = Date.now();
      const res = await fetch(`${base}/ask`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ question: `What follows ${WORDS[(c + q) % WORDS.length]}${q % 211}?`, cache: false }),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      }).catch(() => null);
      await res?.arrayBuffer().catch(() => {});
      samples.push({
        at: started,
        status: res?.status ?? 0,
        retryAfter: res?.headers.get("retry-after") ?? null,
        ms: Date.now() - started,
      });
    }
  };
  const clients = Array.from({ length: Number(args.clients) }, (_, c) => client(c));
  await sleep(10_000);
  const killedAt = Date.now();
  await killHard(db);
  await sleep(Number(args["db-down"]) * 1000);
  db = await startDb(dataDir, dbPort);
  const backAt = Date.now();
  // Until answers have come back for 10 s, or 120 s after the restart at most.
  while (Date.now() - backAt < 120_000) {
    await sleep(500);
    const firstOk = samples.find((s) => s.at > backAt && s.status === 200);
    if (firstOk && Date.now() - firstOk.at > 10_000) {
      break;
    }
  }
  stop = true;
  await Promise.all(clients);
  const after = samples.filter((s) => s.at >= killedAt);
  const bad = after.filter((s) => s.status !== 200);
  const firstOkAfter = after.find((s) => s.at > backAt && s.status === 200);
  const lastBad = bad.at(-1);
  const byStatus: Record<string, number> = {};
  for (const s of after) {
    byStatus[s.status || "timeout/none"] = (byStatus[s.status || "timeout/none"] ?? 0) + 1;
  }
  const result = {
    name: "db-restart",
    dbDownMs: backAt - killedAt,
    answered503Ms: bad.length ? lastBad!.at + lastBad!.ms - bad[0]!.at : 0,
    recoveredAfterDbBackMs: firstOkAfter ? firstOkAfter.at + firstOkAfter.ms - backAt : null,
    requestsFromKill: after.length,
    byStatus,
    "503WithoutRetryAfter": after.filter((s) => s.status === 503 && !s.retryAfter).length,
    slowestNon200Ms: Math.max(0, ...bad.map((s) => s.ms)),
    apiRestarted: api.child.exitCode !== null,
    beforeKill: samples.filter((s) => s.at < killedAt).length,
    load: load(),
  };
  console.log(JSON.stringify(result));
  if (result.apiRestarted) {
    // The API died under the outage: its last words say why.
    console.log(`API process exited ${api.child.exitCode}; its output ends:\n${api.output().slice(-3000)}`);
  }
  await api.stop();
  await killHard(db);
  return result;
}

// ---------------------------------------------------------------- main
try {
  console.log(`bench:faults: ${FILES} files, ${args.kills} kills, lock ${args["lock-ms"]} ms, load ${load()}`);
  const redis = await startRedis();
  console.log(`own redis-server on port ${redis.port}`);
  const results: IngestResult[] = [];
  if (ONLY.has("baseline") || ONLY.has("db")) {
    results.push(await ingest("baseline", redis.port, "none"));
  }
  if (ONLY.has("kills")) {
    results.push(await ingest("kills", redis.port, "kills"));
  }
  if (ONLY.has("redis")) {
    results.push(await ingest("redis", redis.port, "redis"));
  }
  const base = results.find((r) => r.name === "baseline")?.completeMs;
  console.log(
    "\n| ingest | files | complete s | vs baseline | indexed | failed (reason) | lost or unfinished | stale | jobs left | load |",
  );
  console.log("|---|---|---|---|---|---|---|---|---|---|");
  for (const r of results) {
    const ratio = base && r.completeMs ? `×${(r.completeMs / base).toFixed(2)}` : "";
    const extra =
      r.name === "kills"
        ? ` (${r.kills} kills)`
        : r.stallMs !== undefined
          ? ` (Redis down ${secs(r.redisDownMs!)} s, stalled ${secs(r.stallMs)} s)`
          : "";
    console.log(
      `| ${r.name}${extra} | ${FILES} | ${r.completeMs === null ? "never" : secs(r.completeMs)} | ${ratio} | ${r.indexed} | ${r.failed} ${JSON.stringify(r.failedReasons)} | ${r.lost} | ${r.stale} | ${r.queued} | ${r.load} |`,
    );
  }
  if (ONLY.has("db")) {
    const r = await askDuringDbRestart(join(work, "baseline", "pglite"));
    console.log(
      `\n/ask during a database restart (${args.clients} clients, database down ${secs(r.dbDownMs)} s): ` +
        `non-200 for ${secs(r.answered503Ms)} s, first 200 ${r.recoveredAfterDbBackMs === null ? "never" : `${secs(r.recoveredAfterDbBackMs)} s`} after the database was back, ` +
        `statuses ${JSON.stringify(r.byStatus)}, 503 without Retry-After ${r["503WithoutRetryAfter"]}, ` +
        `slowest non-200 ${r.slowestNon200Ms} ms, API restarted: ${r.apiRestarted} (load ${r.load})`,
    );
  }
} finally {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      c.kill("SIGKILL");
    }
  }
  rmSync(work, { recursive: true, force: true });
}
