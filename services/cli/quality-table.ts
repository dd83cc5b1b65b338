import { QUALITY_METRIC_NAMES, type QualityReport } from "../../pipelines/store/quality-queries.js";

const fixed = (v: number | null, digits: number) => (v === null ? "-" : v.toFixed(digits));
const percent = (v: number | null) => (v === null ? "-" : `${(v * 100).toFixed(1)}%`);

/** The quality report as a terminal table. */
export function renderQuality(r: QualityReport): string {
  const out: string[] = [];
  out.push(`window: ${r.window.since} .. ${r.window.until}${r.collection ? `, collection ${r.collection}` : ""}`);
  out.push(`queries: ${r.queries}, answered ${r.answered}, abstained ${r.abstained} (${percent(r.abstentionRate)})`);
  out.push(
    `latency ms: p50 ${fixed(r.latencyMs.p50, 1)}, p95 ${fixed(r.latencyMs.p95, 1)}, p99 ${fixed(r.latencyMs.p99, 1)}`,
  );
  out.push(
    `tokens per query: context ${fixed(r.tokensPerQuery.context, 1)}, answer ${fixed(r.tokensPerQuery.answer, 1)}`,
  );
  out.push(`feedback: ${r.feedback.up} up, ${r.feedback.down} down, ${r.feedback.withComment} with a comment`);
  out.push("");
  const rows = QUALITY_METRIC_NAMES.map((m) => [m, fixed(r.metrics[m].mean, 3), String(r.metrics[m].count)]);
  const header = ["METRIC", "MEAN", "QUERIES"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join("  ")
      .trimEnd();
  out.push(line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line));
  out.push("", ...renderCost(r.cost));
  return `${out.join("\n")}\n`;
}

/** Spend by day, collection and key, then the total. */
function renderCost(cost: QualityReport["cost"]): string[] {
  const header = ["DAY", "COLLECTION", "KEY", "QUERIES", "INPUT TOKENS", "OUTPUT TOKENS", "COST USD"];
  const rows = cost.rows.map((r) => [
    r.day,
    r.collection,
    r.keyId ?? "-",
    String(r.queries),
    String(r.inputTokens),
    String(r.outputTokens),
    r.costUsd.toFixed(6),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [
    `cost: $${cost.totalUsd.toFixed(6)} for ${cost.inputTokens} input and ${cost.outputTokens} output tokens; ${cost.cacheHits} answers from the cache`,
    line(header),
    line(widths.map((w) => "-".repeat(w))),
    ...rows.map(line),
  ];
}
