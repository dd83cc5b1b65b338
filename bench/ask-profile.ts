/**
 * One /ask at a time, in process, through the real app (auth, refresh, gateway, answer path, query
 * log), on an index that `npm run bench:load` (or `npm run ingest`) built: where each millisecond goes.
 *
 *   npm run bench:ask -- --data DIR [--corpus DIR] [--files 75] [--per-page 2] [--questions 0 (all)]
 *                        [--rounds 2] [--answers out.json] [--cpu-prof] [--env K=V,...]
 *   npm run bench:ask -- --compare before.json after.json
 *
 * DIR is a DATA_DIR (its `pglite` folder is copied first: the query log grows). Per request it
 * reports the route's wall time, the response's `timings`, and what ran inside it: PGlite's own
 * time (every statement, by wall time of its wasm call), the embedder's calls, each store search,
 * the query-log write, the generator. The first round warms caches (JIT, postings, the in-memory
 * indexes) and is not counted. `--cpu-prof` adds the main thread's CPU profile (self time by
 * function and by file). `--answers` writes each question's answer and citations; `--compare`
 * says which answers differ between two such files (answers must not change with speed work).
 * Each request's quality metrics (computed after its response) are drained before the next one,
 * so they do not land in the next request's figures.
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { loadavg, tmpdir } from "node:os";
import { extname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { pageQuestions } from "./questions.js";

const { values: args } = parseArgs({
  options: {
    data: { type: "string" },
    corpus: { type: "string", default: "/usr/share/doc/python3.11/html/library" },
    files: { type: "string", default: "75" },
    "per-page": { type: "string", default: "2" },
    questions: { type: "string", default: "0" },
    rounds: { type: "string", default: "2" },
    answers: { type: "string" },
    "cpu-prof": { type: "boolean", default: false },
    env: { type: "string", default: "" },
    compare: { type: "boolean", default: false },
  },
  allowPositionals: true,
});

interface AnswerRecord {
  question: string;
  answer: string;
  abstained: boolean;
  citations: Array<{ n: number; chunkId: string; path: string }>;
  /** The judge's probability, rounded to 3 places as the response carries it: reported, not compared. */
  answerability?: number;
}

if (args.compare) {
  const [a, b] = process.argv.slice(-2).map((f) => JSON.parse(readFileSync(f, "utf8")) as AnswerRecord[]);
  const byQ = new Map(b!.map((r) => [r.question, r]));
  let same = 0;
  const differ: string[] = [];
  for (const r of a!) {
    const o = byQ.get(r.question);
    if (!o) {
      continue;
    }
    if (JSON.stringify([r.answer, r.abstained, r.citations]) === JSON.stringify([o.answer, o.abstained, o.citations])) {
      same++;
    } else {
      differ.push(r.question);
    }
  }
  console.log(`${same} of ${same + differ.length} answers identical (text, abstention, citations)`);
  const moved = a!.filter((r) => byQ.has(r.question) && r.answerability !== byQ.get(r.question)!.answerability);
  console.log(`${moved.length} answerability scores differ in the 3rd decimal`);
  for (const q of differ) {
    console.log(`  differs: ${q}`);
  }
  process.exit(differ.length ? 1 : 0);
}

if (!args.data) {
  throw new Error("--data DIR: a DATA_DIR with a pglite index (e.g. the one bench:load builds)");
}
const extraEnv = Object.fromEntries(
  args.env
    .split(",")
    .filter(Boolean)
    .map((kv) => kv.split("=", 2) as [string, string]),
);
const work = mkdtempSync(join(tmpdir(), "rag-ask-profile-"));
cpSync(join(resolve(args.data), "pglite"), join(work, "pglite"), { recursive: true });
rmSync(join(work, "pglite", "pglite.lock"), { force: true });

const { loadAllInOneConfig } = await import("../services/all-in-one/config.js");
const { createLogger } = await import("../services/common/log.js");
const { createCoreDeps } = await import("../services/common/deps.js");
const { createAnswerers } = await import("../services/api/answerers.js");
const { createApp } = await import("../services/api/app.js");

const config = loadAllInOneConfig({ ...process.env, DATA_DIR: work, LOG_LEVEL: "error", ...extraEnv });
const log = createLogger("error");
const answerers = await createAnswerers(config, log);
const core = await createCoreDeps(config, log);

// ---------------------------------------------------------------- instruments
const spent = new Map<string, { ms: number; calls: number }>();
const add = (k: string, ms: number) => {
  const s = spent.get(k) ?? { ms: 0, calls: 0 };
  s.ms += ms;
  s.calls++;
  spent.set(k, s);
};
function timed<T extends object>(obj: T, name: keyof T & string, label: string) {
  const fn = obj[name] as unknown as (...a: unknown[]) => unknown;
  (obj as Record<string, unknown>)[name] = async (...a: unknown[]) => {
    const t = performance.now();
    try {
      return await fn.apply(obj, a);
    } finally {
      add(label, performance.now() - t);
    }
  };
}
// PGlite runs each protocol message synchronously in wasm: the sum of these is the database's time.
const client = (core.database.db as unknown as { $client?: Record<string, unknown> }).$client;
let inDb = 0;
for (const m of ["execProtocol", "execProtocolStream", "execProtocolRaw", "execProtocolRawStream"]) {
  const exec = client?.[m] as ((...a: unknown[]) => Promise<unknown>) | undefined;
  if (!client || typeof exec !== "function") {
    continue;
  }
  client[m] = async (...a: unknown[]) => {
    // Only the outermost call: these call one another.
    const outer = inDb++ === 0;
    const t = performance.now();
    try {
      return await exec.apply(client, a);
    } finally {
      inDb--;
      if (outer) {
        add("db (PGlite statements)", performance.now() - t);
      }
    }
  };
}
const embedder = core.embedder;
const embed = embedder.embed.bind(embedder);
embedder.embed = async (texts) => {
  const t = performance.now();
  try {
    return await embed(texts);
  } finally {
    add(`embed (${texts.length === 1 ? "1 text" : "several texts"})`, performance.now() - t);
  }
};
for (const m of ["searchDense", "searchLexical"] as const) {
  timed(core.store, m, `store.${m}`);
}
timed(core.catalog, "logQuery", "query log write");
timed(core.catalog, "liveGenerations", "refresh (generation lookup)");
timed(answerers.generator, "generate", "generator.generate");
timed(answerers.reranker, "rerank", "reranker.rerank");

const appDeps: Parameters<typeof createApp>[0] = {
  config,
  log,
  generator: answerers.generator,
  reranker: answerers.reranker,
  metricsJudge: answerers.metricsJudge,
  rewriter: answerers.rewriter,
  core,
};
const app = createApp(appDeps);
// The app's metrics queue waits for a pause between answers; this loop makes one after each answer.
const drain = async () => appDeps.metricsQueue?.drain();

// ---------------------------------------------------------------- questions
const corpusFiles = readdirSync(args.corpus)
  .filter((f) => [".html", ".md", ".txt"].includes(extname(f)) && !f.startsWith("_"))
  .sort()
  .slice(0, Number(args.files));
let qs = pageQuestions(args.corpus, corpusFiles, Number(args["per-page"]));
if (Number(args.questions) > 0) {
  qs = qs.slice(0, Number(args.questions));
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]! : NaN;
};

async function ask(question: string) {
  const t = performance.now();
  const res = await app.request("/ask", {
    method: "POST",
    headers: { "content-type": "application/json" },
    // The answer path, not the answer cache: every question is answered (and `cache: false` skips its lookup).
    body: JSON.stringify({ question, cache: extraEnv.BENCH_CACHE === "on" }),
  });
  const body = (await res.json()) as Record<string, any>;
  const wall = performance.now() - t;
  if (res.status !== 200) {
    throw new Error(`/ask ${res.status}: ${JSON.stringify(body)}`);
  }
  return { wall, body };
}

// The main thread's own CPU time (Linux: its task's utime + stime, in clock ticks of 10 ms), summed
// over the whole run: what bounds answers/s when the event loop is the busiest thread.
const mainStat = `/proc/self/task/${process.pid}/stat`;
const mainCpuMs = () => {
  if (!existsSync(mainStat)) {
    return NaN;
  }
  const fields = readFileSync(mainStat, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
};
let mainCpu = 0;
const perRequest = new Map<string, number[]>();
const push = (k: string, v: number) => (perRequest.get(k) ?? perRequest.set(k, []).get(k)!).push(v);
const answers: AnswerRecord[] = [];
const rounds = Math.max(1, Number(args.rounds));
console.log(
  `${qs.length} questions × ${rounds} rounds (first is warm-up); load before ${loadavg()
    .map((x) => x.toFixed(2))
    .join(" ")}`,
);
let session: Session | undefined;
const started = performance.now();
for (let round = 0; round < rounds; round++) {
  const counted = round > 0 || rounds === 1;
  if (counted && args["cpu-prof"] && !session) {
    session = new Session();
    session.connect();
    await session.post("Profiler.enable");
    await session.post("Profiler.setSamplingInterval", { interval: 200 });
    await session.post("Profiler.start");
  }
  for (const q of qs) {
    spent.clear();
    const cpu0 = process.cpuUsage();
    const main0 = mainCpuMs();
    const { wall, body } = await ask(q);
    const cpu = process.cpuUsage(cpu0);
    if (counted) {
      mainCpu += mainCpuMs() - main0;
    }
    if (round === 0) {
      answers.push({
        question: q,
        answer: body.answer,
        abstained: body.abstained,
        citations: (body.citations as Array<Record<string, any>>).map((c) => ({
          n: c.n,
          chunkId: c.chunkId,
          path: c.path,
        })),
        answerability: body.answerability?.score,
      });
    }
    if (!counted) {
      await drain();
      continue;
    }
    push("route wall (app.request)", wall);
    // Every thread of the process (the embedder's too): what bounds answers/s on a machine's cores.
    push("CPU, all threads (answer)", (cpu.user + cpu.system) / 1000);
    for (const [k, v] of Object.entries(body.timings as Record<string, number>)) {
      push(`timings.${k}`, v);
    }
    for (const [k, v] of spent) {
      push(k, v.ms);
    }
    // Deferred quality metrics run here, between requests, not inside the next one's figures.
    const m = performance.now();
    const mcpu0 = process.cpuUsage();
    await drain();
    const mcpu = process.cpuUsage(mcpu0);
    push("deferred metrics (after the response)", performance.now() - m);
    push("CPU, all threads (deferred metrics)", (mcpu.user + mcpu.system) / 1000);
  }
}
const elapsed = performance.now() - started;

console.log(
  `\nper request, ms (p50 / p95 / mean over ${(perRequest.get("route wall (app.request)") ?? []).length} requests; load ${loadavg()[0]!.toFixed(2)}):`,
);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
for (const [k, v] of [...perRequest].sort((a, b) => mean(b[1]) - mean(a[1]))) {
  console.log(
    `  ${k.padEnd(40)} ${pct(v, 50).toFixed(1).padStart(8)} ${pct(v, 95).toFixed(1).padStart(8)} ${mean(v).toFixed(1).padStart(8)}`,
  );
}
console.log(`  (${(elapsed / 1000).toFixed(1)} s in all)`);
const counted = (perRequest.get("route wall (app.request)") ?? []).length;
console.log(
  `main thread's CPU per answer (answers only, their metrics excluded): ${(mainCpu / counted).toFixed(1)} ms; all threads: ${(
    mean(perRequest.get("CPU, all threads (answer)") ?? [NaN])
  ).toFixed(1)} ms`,
);

if (session) {
  const { profile } = (await session.post("Profiler.stop")) as { profile: CpuProfile };
  summarize(profile);
  if (process.env.CPU_PROFILE_OUT) {
    // Opens in Chrome DevTools (Performance) or speedscope.
    writeFileSync(process.env.CPU_PROFILE_OUT, JSON.stringify(profile));
  }
}
if (args.answers) {
  writeFileSync(args.answers, JSON.stringify(answers, null, 1));
  console.log(`answers of round 1 written to ${args.answers}`);
}
await core.close();
rmSync(work, { recursive: true, force: true });
process.exit(0);

// ---------------------------------------------------------------- CPU profile summary
interface CpuProfile {
  nodes: Array<{
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    children?: number[];
  }>;
  samples: number[];
  timeDeltas: number[];
}
function summarize(p: CpuProfile) {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  p.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0) / 1000));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const byFn = new Map<string, number>();
  const byFile = new Map<string, number>();
  for (const [id, ms] of self) {
    const f = byId.get(id)!.callFrame;
    const file = f.url
      .replace(/^file:\/\//, "")
      .replace(/.*\/node_modules\//, "nm:")
      .replace(/.*\/wt-[^/]+\/|.*\/perf-base\//, "");
    const fn = `${f.functionName || "(anonymous)"} ${file}:${f.lineNumber + 1}`;
    byFn.set(fn, (byFn.get(fn) ?? 0) + ms);
    const pkg = file.startsWith("nm:")
      ? file
          .split("/")
          .slice(0, file.startsWith("nm:@") ? 2 : 1)
          .join("/")
      : file || "(native/idle)";
    byFile.set(pkg, (byFile.get(pkg) ?? 0) + ms);
  }
  const top = (m: Map<string, number>, n: number) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, v]) => `  ${((100 * v) / total).toFixed(1).padStart(5)}%  ${v.toFixed(0).padStart(7)} ms  ${k}`);
  console.log(`\nmain-thread CPU profile: ${total.toFixed(0)} ms sampled; self time by file/package:`);
  console.log(top(byFile, 25).join("\n"));
  console.log("self time by function:");
  console.log(top(byFn, 30).join("\n"));
}
