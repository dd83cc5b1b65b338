import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { EvalInputError } from "./beir.js";

/** Headline figures: quality in [0, 1] (higher is better), or `latency*` in ms (lower is better). */
export type Figures = Record<string, number | null>;

export interface EvalReport {
  kind: "suite" | "beir";
  name: string;
  commit: string | null;
  date: string;
  settings: Record<string, unknown>;
  /** Seconds per phase. */
  timings: Record<string, number>;
  figures: Figures;
  /** Further tables for the Markdown report (already rendered), and data for the JSON. */
  sections?: Array<{ title: string; markdown: string }>;
  details?: unknown;
  baseline?: GateResult & { file: string };
}

const ReportFile = z.object({ figures: z.record(z.string(), z.number().nullable()) }).loose();

/** Reads a baseline: any report this command wrote (only its `figures` are compared). */
export function readBaseline(file: string): Figures {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new EvalInputError(`--baseline ${file}: cannot read a JSON report (${(err as Error).message})`);
  }
  const parsed = ReportFile.safeParse(json);
  if (!parsed.success) {
    throw new EvalInputError(`--baseline ${file}: not an eval report (no "figures" object of numbers)`);
  }
  return parsed.data.figures;
}

export const isLatency = (metric: string) => metric.startsWith("latency");

export interface GateResult {
  tolerance: number;
  baseline: Figures;
  regressions: Array<{ metric: string; baseline: number; current: number; drop: number }>;
}

/**
 * The regression gate: a quality figure fails when it is more than `tolerance` (absolute) below the
 * baseline's. Latency is reported beside it but not gated: it depends on the machine and its load,
 * and a gate that fails on a busy CI host teaches people to ignore it.
 */
export function compareToBaseline(current: Figures, baseline: Figures, tolerance: number): GateResult {
  const regressions: GateResult["regressions"] = [];
  for (const [metric, base] of Object.entries(baseline)) {
    const now = current[metric];
    if (isLatency(metric) || typeof base !== "number" || typeof now !== "number") {
      continue;
    }
    const drop = base - now;
    if (drop > tolerance + 1e-12) {
      regressions.push({ metric, baseline: base, current: now, drop });
    }
  }
  return { tolerance, baseline, regressions };
}

/** The checked-out commit (with a mark when the tree has changes), or null outside a git checkout. */
export function currentCommit(cwd = process.cwd()): string | null {
  try {
    const head = execFileSync("git", ["rev-parse", "--short=12", "HEAD"], {
      cwd,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], {
      cwd,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
    return dirty ? `${head}+uncommitted` : head;
  } catch {
    return null;
  }
}

export const fmt = (x: number | null | undefined, digits = 4) => (typeof x === "number" ? x.toFixed(digits) : "n/a");

/** Writes `<dir>/<name>.json`, `.md` and `.svg`; returns their paths. */
export function writeReport(dir: string, report: EvalReport): { json: string; md: string; svg: string } {
  mkdirSync(dir, { recursive: true });
  const paths = {
    json: join(dir, `${report.name}.json`),
    md: join(dir, `${report.name}.md`),
    svg: join(dir, `${report.name}.svg`),
  };
  writeFileSync(paths.json, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(paths.svg, chartSvg(report.figures, report.baseline?.baseline));
  writeFileSync(paths.md, markdown(report, `${report.name}.svg`));
  return paths;
}

function markdown(r: EvalReport, svgName: string): string {
  const base = r.baseline?.baseline;
  const lines = [
    `# Eval report: ${r.name}`,
    "",
    `Commit \`${r.commit ?? "unknown"}\`, ${r.date}. Written by \`npm run eval\`.`,
    "",
    "## Settings",
    "",
    "| setting | value |",
    "|---|---|",
    ...Object.entries(r.settings).map(([k, v]) => `| ${k} | ${typeof v === "string" ? v : JSON.stringify(v)} |`),
    "",
    "## Figures",
    "",
    `| metric | value${base ? " | baseline | change" : ""} |`,
    `|---|---${base ? "|---|---" : ""}|`,
    ...Object.entries(r.figures).map(([k, v]) => {
      const digits = isLatency(k) ? 1 : 4;
      if (!base) {
        return `| ${k} | ${fmt(v, digits)} |`;
      }
      const b = base[k];
      const delta =
        typeof v === "number" && typeof b === "number" ? `${v - b >= 0 ? "+" : ""}${(v - b).toFixed(digits)}` : "";
      return `| ${k} | ${fmt(v, digits)} | ${fmt(b, digits)} | ${delta} |`;
    }),
    "",
    `![quality figures${base ? " against the baseline" : ""}](${svgName})`,
    "",
  ];
  if (r.baseline) {
    const g = r.baseline;
    lines.push(
      `Regression gate against \`${g.file}\` (tolerance ${g.tolerance}): ` +
        (g.regressions.length === 0
          ? "passed."
          : `**failed**: ${g.regressions.map((x) => `${x.metric} fell ${x.drop.toFixed(4)} (${fmt(x.baseline)} → ${fmt(x.current)})`).join("; ")}.`),
      "",
    );
  }
  lines.push(
    "## Timings",
    "",
    "| phase | seconds |",
    "|---|---|",
    ...Object.entries(r.timings).map(([k, v]) => `| ${k} | ${v} |`),
    "",
  );
  for (const s of r.sections ?? []) {
    lines.push(`## ${s.title}`, "", s.markdown.trimEnd(), "");
  }
  return lines.join("\n");
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** A horizontal bar chart of the quality figures (0 to 1), the baseline's as a second bar. */
export function chartSvg(figures: Figures, baseline?: Figures): string {
  const rows = Object.entries(figures).filter(([k]) => !isLatency(k));
  const label = 170;
  const width = 560;
  const barW = width - label - 60;
  const bar = baseline ? 11 : 16;
  const rowH = baseline ? 30 : 24;
  const height = 30 + rows.length * rowH + (baseline ? 24 : 8);
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
  ];
  for (const t of [0, 0.25, 0.5, 0.75, 1]) {
    const x = label + t * barW;
    out.push(
      `<line x1="${x}" y1="18" x2="${x}" y2="${22 + rows.length * rowH}" stroke="#ddd"/>`,
      `<text x="${x}" y="13" text-anchor="middle" fill="#666">${t}</text>`,
    );
  }
  rows.forEach(([k, v], i) => {
    const y = 24 + i * rowH;
    out.push(`<text x="${label - 6}" y="${y + bar - 2}" text-anchor="end">${esc(k)}</text>`);
    const draw = (value: number | null | undefined, yy: number, color: string) => {
      if (typeof value !== "number") {
        return out.push(`<text x="${label + 4}" y="${yy + bar - 2}" fill="#999">n/a</text>`);
      }
      const w = Math.max(0, Math.min(1, value)) * barW;
      out.push(
        `<rect x="${label}" y="${yy}" width="${w.toFixed(1)}" height="${bar}" fill="${color}"/>`,
        `<text x="${(label + w + 4).toFixed(1)}" y="${yy + bar - 2}">${value.toFixed(3)}</text>`,
      );
    };
    draw(v, y, "#3b6ea8");
    if (baseline) {
      draw(baseline[k], y + bar + 1, "#b0b0b0");
    }
  });
  if (baseline) {
    const y = height - 12;
    out.push(
      `<rect x="${label}" y="${y - 9}" width="10" height="10" fill="#3b6ea8"/><text x="${label + 14}" y="${y}">this run</text>`,
      `<rect x="${label + 90}" y="${y - 9}" width="10" height="10" fill="#b0b0b0"/><text x="${label + 104}" y="${y}">baseline</text>`,
    );
  }
  out.push("</svg>\n");
  return out.join("\n");
}
