/**
 * /ask under load, through the real service process (`services/all-in-one/main.ts`, the defaults:
 * USE-Lite, extractive generator), on PGlite and on the `pg` path (PGlite behind pglite-socket,
 * in its own process). Figures only, no assertions.
 *
 *   npm run bench:load -- [--corpus DIR] [--files 75] [--index DIR] [--duration 60] [--clients 1,10,50]
 *                         [--malformed 1000] [--db pglite,pg-socket] [--baseline-root DIR] [--env K=V,...]
 *
 * The corpus (default: Python's HTML library docs, the first 75 files, about 5,000 chunks) is
 * indexed once into --index (kept between runs; delete it to rebuild) with `npm run ingest`; each
 * measured service gets a copy, so runs never see each other's query log. For each service and
 * database: closed-loop clients (each sends the next question when its answer arrives) for
 * --duration seconds per level, then --malformed bad bodies; answers/s, p50/p95/p99 of answered
 * requests, fast 503 `overloaded` (shed), failures (timeouts at 30 s, other statuses), per-stage
 * p50 of the responses' `timings`, and the machine's 1-minute load while it ran.
 *
 * --baseline-root names another checkout (e.g. `git worktree add /tmp/base <commit>` with
 * node_modules linked in): its service is measured in the same run, before this one, so the
 * ratios compare like with like on a shared machine.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { loadavg, tmpdir } from "node:os";
import { basename, extname, join, resolve } from "node:path";
import { parseArgs } from "node:util";

const { values: args } = parseArgs({
  options: {
    corpus: { type: "string", default: "/usr/share/doc/python3.11/html/library" },
    files: { type: "string", default: "75" },
    index: { type: "string", default: join(tmpdir(), "rag-bench-load-index") },
    duration: { type: "string", default: "60" },
    clients: { type: "string", default: "1,10,50" },
    malformed: { type: "string", default: "1000" },
    db: { type: "string", default: "pglite,pg-socket" },
    "baseline-root": { type: "string" },
    env: { type: "string", default: "" },
  },
});
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

/** One question per file, from its title: what a reader of that page would ask. */
function questions(): string[] {
  const out: string[] = [];
  for (const f of corpusFiles) {
    const text = readFileSync(join(args.corpus, f), "utf8");
    const title =
      /<title>([^<]+)<\/title>/i.exec(text)?.[1] ?? /^#\s+(.+)$/m.exec(text)?.[1] ?? basename(f, extname(f));
    // "asyncio — Synchronization Primitives — Python 3.11 documentation": the part that names the topic.
    const parts = title
      .replace(/&#8212;|&mdash;/g, "—")
      .replace(/&[a-z#0-9]+;/gi, " ")
      .split(/\s+[—–]\s+/)
      .filter((p) => !/documentation$/i.test(p));
    const clean = (parts[1] ?? parts[0] ?? "").replace(/\s+/g, " ").trim();
    if (clean.length > 3) {
      out.push(`How do I use ${clean.toLowerCase()}?`);
    }
  }
  return out;
}

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
  stop(): Promise<void>;
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
  rate: number;
  p50: number;
  p95: number;
  p99: number;
  shed: number;
  failed: number;
  stages: Record<string, number>;
  load: number;
}

async function closedLoop(base: string, clients: number, qs: string[]): Promise<LevelResult> {
  const latencies: number[] = [];
  const stages = new Map<string, number[]>();
  let shed = 0;
  let failed = 0;
  let next = 0;
  const until = Date.now() + DURATION_MS;
  const client = async () => {
    while (Date.now() < until) {
      const question = qs[next++ % qs.length]!;
      const t = performance.now();
      try {
        const res = await fetch(`${base}/ask`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ question }),
          signal: AbortSignal.timeout(TIMEOUT_MS),
        });
        const body = (await res.json()) as { timings?: Record<string, number>; error?: { code: string } };
        if (res.status === 200) {
          latencies.push(performance.now() - t);
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
  const { load } = await withLoad(() => Promise.all(Array.from({ length: clients }, client)));
  const seconds = (performance.now() - t0) / 1000;
  return {
    clients,
    answered: latencies.length,
    rate: latencies.length / seconds,
    p50: pct(latencies, 50),
    p95: pct(latencies, 95),
    p99: pct(latencies, 99),
    shed,
    failed,
    stages: Object.fromEntries([...stages].map(([k, v]) => [k, pct(v, 50)])),
    load,
  };
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
  // 2xx: bodies that were valid after all (none of MALFORMED should be; a lone surrogate is a 400).
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
  `${corpusFiles.length} files, ${qs.length} questions; ${args.duration} s per level; load before: ${loadavg()
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
      // Warm-up: JIT, caches, the embedder's threads.
      for (const q of qs.slice(0, 5)) {
        await fetch(`${svc.base}/ask`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ question: q }),
        }).then((r) => r.arrayBuffer());
      }
      for (const clients of LEVELS) {
        const r = await closedLoop(svc.base, clients, qs);
        rows.push({ root: name, db, ...r });
        console.log(
          `${name.padEnd(8)} ${db.padEnd(9)} ${String(clients).padStart(3)} clients: ${r.rate.toFixed(1)} answers/s, p50 ${fmt(r.p50)}, p95 ${fmt(r.p95)}, p99 ${fmt(r.p99)}, ` +
            `shed ${r.shed}, failed ${r.failed}, load ${r.load.toFixed(2)}; stage p50 ${Object.entries(r.stages)
              .map(([k, v]) => `${k} ${v}`)
              .join(", ")}`,
        );
      }
      const { result: bad, load } = await withLoad(() => malformed(svc.base, Number(args.malformed)));
      console.log(
        `${name.padEnd(8)} ${db.padEnd(9)} ${args.malformed} malformed bodies: ${bad["4xx"]} 4xx, ${bad["5xx"]} 5xx, ${bad["2xx"]} 2xx (valid), ${bad.other} other (load ${load.toFixed(2)})`,
      );
    } finally {
      await svc.stop();
    }
  }
}

console.log("\n| service | database | clients | answers/s | p50 | p95 | p99 | shed | failed | load |");
console.log("|---|---|---|---|---|---|---|---|---|---|");
for (const r of rows) {
  console.log(
    `| ${r.root} | ${r.db} | ${r.clients} | ${r.rate.toFixed(1)} | ${fmt(r.p50)} | ${fmt(r.p95)} | ${fmt(r.p99)} | ${r.shed} | ${r.failed} | ${r.load.toFixed(2)} |`,
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
