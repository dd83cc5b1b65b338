/**
 * /ask under load, through the real service process (`services/all-in-one/main.ts`, the defaults:
 * USE-Lite, extractive generator), on PGlite and on the `pg` path (PGlite behind pglite-socket,
 * in its own process). Figures only, no assertions.
 *
 *   npm run bench:load -- [--corpus DIR] [--files 75] [--index DIR] [--duration 60] [--clients 1,10,50]
 *                         [--malformed 1000] [--db pglite,pg-socket] [--baseline-root DIR] [--env K=V,...]
 *                         [--per-page 4] [--cache off|on] [--quick]
 *
 * The corpus (default: Python's HTML library docs, the first 75 files, about 5,000 chunks) is
 * indexed once into --index (default: one folder per --files count, kept between runs; delete it to
 * rebuild) with `npm run ingest`; each measured service gets a copy, so runs never see each other's
 * query log. For each service and database: closed-loop clients (each sends the next question when
 * its answer arrives) for --duration seconds per level, then --malformed bad bodies; answers/s,
 * p50/p95/p99 of answered requests, fast 503 `overloaded` (shed, and their share of all
 * responses), failures (timeouts at 30 s, other statuses), per-stage p50 of the responses'
 * `timings`, the metrics queue's outcome (from the query log, once the service is idle), and the
 * machine's 1-minute load while it ran.
 *
 * Questions: one per page from its title, then (--per-page N) up to N-1 more from its section
 * headings, cycled in order. `--cache off` (the default) sends `"cache": false`, so every request is
 * answered (a repeated question would otherwise be an answer-cache hit: bench:cache measures those).
 * `--quick`: 1 and 50 clients, 20 s each, 100 malformed bodies, PGlite only (explicit flags win).
 *
 * --baseline-root names another checkout (e.g. `git worktree add /tmp/base <commit>` with
 * node_modules linked in): its service is measured in the same run, before this one, so the
 * ratios compare like with like on a shared machine.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { cpus, loadavg, tmpdir } from "node:os";
import { basename, extname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { pageQuestions } from "./questions.js";

const { values: parsed } = parseArgs({
  options: {
    corpus: { type: "string", default: "/usr/share/doc/python3.11/html/library" },
    files: { type: "string", default: "75" },
    index: { type: "string" },
    duration: { type: "string" },
    clients: { type: "string" },
    malformed: { type: "string" },
    db: { type: "string" },
    "baseline-root": { type: "string" },
    env: { type: "string", default: "" },
    "per-page": { type: "string", default: "4" },
    cache: { type: "string", default: "off" },
    quick: { type: "boolean", default: false },
  },
});
const quick = parsed.quick;
const args = {
  ...parsed,
  index: parsed.index ?? join(tmpdir(), `rag-bench-load-index-${parsed.files}`),
  duration: parsed.duration ?? (quick ? "20" : "60"),
  clients: parsed.clients ?? (quick ? "1,50" : "1,10,50"),
  malformed: parsed.malformed ?? (quick ? "100" : "1000"),
  db: parsed.db ?? (quick ? "pglite" : "pglite,pg-socket"),
};
if (args.cache !== "off" && args.cache !== "on") {
  throw new Error("--cache: off or on");
}
const ROOT = resolve(new URL("..", import.meta.url).pathname);
const DURATION_MS = Number(args.duration) * 1000;
const LEVELS = args.clients.split(",").map(Number);
const TIMEOUT_MS = 30_000;
const extraEnv = Object.fromEntries(
  args.env
    .split(",")
    .filter(Boolean)
    .map((kv) => kv.split("=", 2) as [string, string]),
);

// ---------------------------------------------------------------- corpus and index
const corpusFiles = readdirSync(args.corpus)
  .filter((f) => [".html", ".md", ".txt"].includes(extname(f)) && !f.startsWith("_"))
  .sort()
  .slice(0, Number(args.files));
const corpusDir = join(args.index, "corpus");
const indexDir = join(args.index, "data");

/** Questions from the pages' titles, then their section headings (bench/questions.ts). */
const questions = () => pageQuestions(args.corpus, corpusFiles, Number(args["per-page"]));

async function prepareIndex() {
  if (existsSync(join(indexDir, "PG_VERSION")) || existsSync(join(indexDir, "pglite"))) {
    return;
  }
  rmSync(args.index, { recursive: true, force: true });
  cpSync(args.corpus, corpusDir, {
    recursive: true,
    filter: (src) => src === args.corpus || corpusFiles.includes(basename(src)),
  });
  console.log(`indexing ${corpusFiles.length} files into ${indexDir} (once; kept for later runs)…`);
  const t = performance.now();
  await exec(process.execPath, ["--import", "tsx", "services/cli/ingest.ts", corpusDir], ROOT, {
    DATA_DIR: indexDir,
    LOG_LEVEL: "warn",
  });
  console.log(`indexed in ${((performance.now() - t) / 1000).toFixed(0)} s`);
}

// ---------------------------------------------------------------- processes
function exec(cmd: string, argv: string[], cwd: string, env: Record<string, string>): Promise<void> {
  return new Promise((ok, fail) => {
    const p = spawn(cmd, argv, { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "inherit", "inherit"] });
    p.on("exit", (code) => (code === 0 ? ok() : fail(new Error(`${cmd} ${argv.join(" ")} exited ${code}`))));
  });
}

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
    s.on("error", fail);
  });
}

/** Starts a child and resolves with the first stdout line matching `ready`. */
function startChild(
  argv: string[],
  cwd: string,
  env: Record<string, string>,
  ready: RegExp,
): Promise<{ child: ChildProcess; match: RegExpMatchArray }> {
  const child = spawn(process.execPath, ["--import", "tsx", ...argv], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let tail = "";
  return new Promise((ok, fail) => {
    const onData = (d: Buffer) => {
      tail = (tail + d.toString()).slice(-4000);
      const m = tail.match(ready);
      if (m) {
        ok({ child, match: m });
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", (d: Buffer) => (tail = (tail + d.toString()).slice(-4000)));
    child.on("exit", (code) => fail(new Error(`${argv.join(" ")} exited ${code}:\n${tail}`)));
  });
}

async function waitFor(url: string, ok: (body: any, status: number) => boolean, what: string, ms = 600_000) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    try {
      const res = await fetch(url);
      const body = await res.json().catch(() => null);
      if (ok(body, res.status)) {
        return;
      }
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`timed out waiting for ${what}`);
}

interface Service {
  base: string;
  /** The service's process id (its threads' CPU time is read from /proc on Linux). */
  pid: number | undefined;
  stop(): Promise<void>;
}

/** CPU time so far (ms) of each thread of a process, by thread name and id; empty where /proc is not. */
function threadCpu(pid: number | undefined): Map<string, number> {
  const out = new Map<string, number>();
  const dir = `/proc/${pid}/task`;
  if (pid === undefined || !existsSync(dir)) {
    return out;
  }
  for (const tid of readdirSync(dir)) {
    try {
      const stat = readFileSync(`${dir}/${tid}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const name = Number(tid) === pid ? "main" : readFileSync(`${dir}/${tid}/comm`, "utf8").trim();
      // utime + stime, in clock ticks (10 ms)
      out.set(`${name}#${tid}`, (Number(f[11]) + Number(f[12])) * 10);
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

/** The service's CPU use over a level, as a share of one core: its main thread, and all its threads. */
function cpuShare(before: Map<string, number>, after: Map<string, number>, ms: number) {
  let main = 0;
  let all = 0;
  for (const [k, v] of after) {
    const d = v - (before.get(k) ?? 0);
    all += d;
    if (k.startsWith("main#")) {
      main = d;
    }
  }
  return { main: main / ms, all: all / ms };
}

async function startService(root: string, db: string): Promise<Service> {
  const data = mkdtempSync(join(tmpdir(), "rag-load-"));
  cpSync(indexDir, join(data, "data"), { recursive: true });
  const env: Record<string, string> = {
    DATA_DIR: join(data, "data"),
    WATCH_DIRS: corpusDir,
    LOG_LEVEL: "error",
    ...extraEnv,
  };
  const children: ChildProcess[] = [];
  if (db === "pg-socket") {
    // The PGlite files moved behind a socket server in its own process: the service uses `pg`.
    const { child, match } = await startChild(
      ["bench/pglite-server.ts", join(data, "data", "pglite")],
      ROOT,
      {},
      /listening (postgres:\/\/\S+)/,
    );
    children.push(child);
    env.DATABASE_URL = match[1]!;
  }
  const port = await freePort();
  env.PORT = String(port);
  env.HOST = "127.0.0.1";
  const svc = spawn(process.execPath, ["--import", "tsx", "services/all-in-one/main.ts"], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ["ignore", "ignore", "inherit"],
  });
  children.push(svc);
  const base = `http://127.0.0.1:${port}`;
  await waitFor(`${base}/readyz`, (_b, s) => s === 200, "readiness");
  // The start-up scan re-reads every file (all unchanged): measure once the queue is idle.
  await waitFor(
    `${base}/status`,
    (b) => b?.queue?.waiting === 0 && b?.queue?.active === 0 && (b?.documents?.pending ?? 0) === 0,
    "an idle queue",
  );
  return {
    base,
    pid: svc.pid,
    async stop() {
      for (const c of children.reverse()) {
        c.kill("SIGTERM");
        await new Promise((r) => (c.exitCode !== null ? r(null) : c.once("exit", r)));
      }
      rmSync(data, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------- measuring
const pct = (xs: number[], p: number) => {
  if (xs.length === 0) {
    return NaN;
  }
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

/** The 1-minute load average, sampled each second while `work` runs. */
async function withLoad<T>(work: () => Promise<T>): Promise<{ result: T; load: number }> {
  const samples: number[] = [loadavg()[0]!];
  const timer = setInterval(() => samples.push(loadavg()[0]!), 1000);
  try {
    return { result: await work(), load: samples.reduce((a, b) => a + b, 0) / samples.length };
  } finally {
    clearInterval(timer);
  }
}

interface LevelResult {
  clients: number;
  answered: number;
  /** Shed as a share of every response (answered, shed, failed). */
  shedShare: number;
  rate: number;
  p50: number;
  p95: number;
  p99: number;
  shed: number;
  failed: number;
  stages: Record<string, number>;
  load: number;
  /** The service's CPU over the level in cores: main thread, and every thread (embedding ones too); NaN off Linux. */
  cpu: { main: number; all: number };
  /** The slowest answers: latency, when they started (seconds into the level), their `timings`. */
  slowest: Array<{ ms: number; at: number; timings: Record<string, number> }>;
  /** Query ids of answered requests (every 10th), to check their metrics landed in the query log. */
  sampled: string[];
}

async function closedLoop(svc: Service, clients: number, qs: string[]): Promise<LevelResult> {
  const base = svc.base;
  const latencies: number[] = [];
  const stages = new Map<string, number[]>();
  let shed = 0;
  let failed = 0;
  let next = 0;
  const sampled: string[] = [];
  const answers: Array<{ ms: number; at: number; timings: Record<string, number> }> = [];
  const levelStart = performance.now();
  const until = Date.now() + DURATION_MS;
  const client = async () => {
    while (Date.now() < until) {
      const question = qs[next++ % qs.length]!;
      const t = performance.now();
      try {
        const res = await fetch(`${base}/ask`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(args.cache === "off" ? { question, cache: false } : { question }),
          signal: AbortSignal.timeout(TIMEOUT_MS),
        });
        const body = (await res.json()) as {
          queryId?: string;
          timings?: Record<string, number>;
          error?: { code: string };
        };
        if (res.status === 200) {
          latencies.push(performance.now() - t);
          answers.push({ ms: performance.now() - t, at: (t - levelStart) / 1000, timings: body.timings ?? {} });
          if (latencies.length % 10 === 1 && body.queryId) {
            sampled.push(body.queryId);
          }
          for (const [k, v] of Object.entries(body.timings ?? {})) {
            (stages.get(k) ?? stages.set(k, []).get(k)!).push(v);
          }
        } else if (res.status === 503 && body.error?.code === "overloaded") {
          shed++;
          // A shed client waits as Retry-After asks (capped, so a level still measures).
          await new Promise((r) => setTimeout(r, Math.min(1000, Number(res.headers.get("retry-after") ?? 1) * 1000)));
        } else {
          failed++;
        }
      } catch {
        failed++;
      }
    }
  };
  const t0 = performance.now();
  const cpu0 = threadCpu(svc.pid);
  const { load } = await withLoad(() => Promise.all(Array.from({ length: clients }, client)));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpu0.size ? cpuShare(cpu0, threadCpu(svc.pid), seconds * 1000) : { main: NaN, all: NaN };
  return {
    clients,
    answered: latencies.length,
    shedShare: shed / Math.max(1, latencies.length + shed + failed),
    rate: latencies.length / seconds,
    p50: pct(latencies, 50),
    p95: pct(latencies, 95),
    p99: pct(latencies, 99),
    shed,
    failed,
    stages: Object.fromEntries([...stages].map(([k, v]) => [k, pct(v, 50)])),
    load,
    cpu,
    slowest: answers.sort((a, b) => b.ms - a.ms).slice(0, 3),
    sampled,
  };
}

/**
 * Where the sampled answers' quality metrics stand once the service is idle: every answered query
 * has a query-log row whose metrics are `done`, or `skipped` when the service was too busy
 * (sampled under load); `pending` after 30 s idle, or a missing row, would be a bug.
 */
async function metricsOutcome(base: string, ids: string[]) {
  const counts: Record<string, number> = {};
  const until = Date.now() + 30_000;
  for (const id of ids) {
    let status = "missing";
    for (;;) {
      const res = await fetch(`${base}/queries/${id}/metrics`);
      status = res.status === 200 ? ((await res.json()) as { status: string }).status : `http ${res.status}`;
      if (status !== "pending" || Date.now() > until) {
        break;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    counts[status] = (counts[status] ?? 0) + 1;
  }
  return counts;
}

/** Bodies a careless or hostile client sends: each must get a clean 4xx, never a 5xx. */
const MALFORMED: Array<string> = [
  "",
  "{",
  "null",
  "[]",
  '"question"',
  "{}",
  '{"question": 42}',
  '{"question": ""}',
  '{"question": null}',
  '{"question": "ok", "topK": -1}',
  '{"question": "ok", "topK": "many"}',
  '{"question": "ok", "collection": 7}',
  '{"question": "ok", "maxContextTokens": 1e309}',
  `{"question": "${"x".repeat(5000)}"}`,
  '{"question": "\\ud800"}',
  "\u0000\u0001",
];

async function malformed(base: string, n: number) {
  // 2xx: bodies that were valid after all (a lone surrogate is a question like any other).
  const counts = { "2xx": 0, "4xx": 0, "5xx": 0, other: 0 };
  let i = 0;
  const worker = async () => {
    while (i < n) {
      const body = MALFORMED[i++ % MALFORMED.length]!;
      try {
        const res = await fetch(`${base}/ask`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body,
          signal: AbortSignal.timeout(TIMEOUT_MS),
        });
        await res.arrayBuffer();
        if (res.status >= 200 && res.status < 300) {
          counts["2xx"]++;
        } else if (res.status >= 400 && res.status < 500) {
          counts["4xx"]++;
        } else if (res.status >= 500) {
          counts["5xx"]++;
        } else {
          counts.other++;
        }
      } catch {
        counts.other++;
      }
    }
  };
  await Promise.all(Array.from({ length: 10 }, worker));
  return counts;
}

// ---------------------------------------------------------------- main
const fmt = (ms: number) =>
  Number.isNaN(ms) ? "-" : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`;

await prepareIndex();
const qs = questions();
console.log(
  `${corpusFiles.length} files, ${qs.length} questions (cache ${args.cache}); ${args.duration} s per level; ${cpus().length} cores; load before: ${loadavg()
    .map((x) => x.toFixed(2))
    .join(" ")}`,
);
const roots: Array<[string, string]> = [
  ...(args["baseline-root"] ? [["baseline", resolve(args["baseline-root"])] as [string, string]] : []),
  ["this", ROOT],
];
const rows: Array<{ root: string; db: string } & LevelResult> = [];
for (const db of args.db.split(",")) {
  for (const [name, root] of roots) {
    const svc = await startService(root, db);
    try {
      // Warm-up: JIT, the embedder's threads, and the in-memory indexes, which load in the background
      // on first use (BM25 postings, dense vectors): questions one at a time for 15 s (at least 5).
      const warmUntil = Date.now() + 15_000;
      for (let i = 0; i < 5 || Date.now() < warmUntil; i++) {
        await fetch(`${svc.base}/ask`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ question: qs[(qs.length - 1 - i + qs.length) % qs.length], cache: false }),
        }).then((r) => r.arrayBuffer());
      }
      for (const clients of LEVELS) {
        const r = await closedLoop(svc, clients, qs);
        rows.push({ root: name, db, ...r });
        for (const a of r.slowest) {
          console.log(
            `         slowest: ${fmt(a.ms)} at ${a.at.toFixed(1)} s into the level; ${Object.entries(a.timings)
              .map(([k, v]) => `${k} ${v}`)
              .join(", ")}`,
          );
        }
        console.log(
          `${name.padEnd(8)} ${db.padEnd(9)} ${String(clients).padStart(3)} clients: ${r.rate.toFixed(1)} answers/s, p50 ${fmt(r.p50)}, p95 ${fmt(r.p95)}, p99 ${fmt(r.p99)}, ` +
            `shed ${r.shed} (${(100 * r.shedShare).toFixed(1)}%), failed ${r.failed}, load ${r.load.toFixed(2)}, ` +
            `service CPU ${r.cpu.all.toFixed(2)} cores (main thread ${r.cpu.main.toFixed(2)}); stage p50 ${Object.entries(
              r.stages,
            )
              .map(([k, v]) => `${k} ${v}`)
              .join(", ")}`,
        );
      }
      const landed = await metricsOutcome(
        svc.base,
        rows.filter((r) => r.root === name && r.db === db).flatMap((r) => r.sampled),
      );
      console.log(
        `${name.padEnd(8)} ${db.padEnd(9)} quality metrics of sampled answers (every 10th), once idle: ${Object.entries(
          landed,
        )
          .map(([k, v]) => `${v} ${k}`)
          .join(", ")}`,
      );
      const { result: bad, load } = await withLoad(() => malformed(svc.base, Number(args.malformed)));
      console.log(
        `${name.padEnd(8)} ${db.padEnd(9)} ${args.malformed} malformed bodies: ${bad["4xx"]} 4xx, ${bad["5xx"]} 5xx, ${bad["2xx"]} 2xx (valid), ${bad.other} other (load ${load.toFixed(2)})`,
      );
    } finally {
      await svc.stop();
    }
  }
}

console.log(
  "\n| service | database | clients | answers/s | p50 | p95 | p99 | shed | failed | retrieval p50 | generation p50 | load |",
);
console.log("|---|---|---|---|---|---|---|---|---|---|---|---|");
for (const r of rows) {
  const stage = (k: string) => (r.stages[k] === undefined ? "-" : fmt(r.stages[k]!));
  console.log(
    `| ${r.root} | ${r.db} | ${r.clients} | ${r.rate.toFixed(1)} | ${fmt(r.p50)} | ${fmt(r.p95)} | ${fmt(r.p99)} | ${r.shed} (${(100 * r.shedShare).toFixed(1)}%) | ${r.failed} | ${stage("retrievalMs")} | ${stage("generationMs")} | ${r.load.toFixed(2)} |`,
  );
}
if (roots.length === 2) {
  console.log("\nratios, this / baseline (same run, same machine):");
  for (const r of rows.filter((x) => x.root === "this")) {
    const b = rows.find((x) => x.root === "baseline" && x.db === r.db && x.clients === r.clients);
    if (b) {
      console.log(
        `  ${r.db} ${r.clients} clients: answers/s ×${(r.rate / b.rate).toFixed(2)}, p50 ×${(r.p50 / b.p50).toFixed(3)}, p95 ×${(r.p95 / b.p95).toFixed(3)}`,
      );
    }
  }
}
