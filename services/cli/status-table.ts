import type { StatusReport } from "../common/status-report.js";

const ago = (iso: Date | string | null, now: number) => {
  if (!iso) {
    return "never";
  }
  return `${duration(now - new Date(iso).getTime())} ago`;
};

/** 0 → "0s", 95_000 → "1m35s", 7_200_000 → "2h0m". */
export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) {
    return `${s}s`;
  }
  if (s < 3600) {
    return `${Math.floor(s / 60)}m${s % 60}s`;
  }
  if (s < 86_400) {
    return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
  }
  return `${Math.floor(s / 86_400)}d${Math.floor((s % 86_400) / 3600)}h`;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

/** The status as a terminal table; `now` is injectable so the output can be tested. */
export function renderStatus(r: StatusReport, now = Date.now()): string {
  const out: string[] = [];
  const g = r.generation;
  out.push(g ? `index generation ${g.id} (${g.embedderKey})` : "index generation: none yet");
  if (r.reindex) {
    out.push(
      `re-index: generation ${r.reindex.id}, ${r.reindex.progress.done}/${r.reindex.progress.total} done, ${r.reindex.progress.failed} failed`,
    );
  }
  if (r.modelMismatch) {
    out.push("EMBEDDING MODEL MISMATCH: queries and ingestion are refused until re-indexed");
  }
  const d = r.documents;
  out.push(`documents: ${d.indexed} indexed, ${d.pending} pending, ${d.failed} failed, ${d.stale} stale`);
  // Reports from a service older than the unseen count have none.
  if (r.unseen !== undefined) {
    out.push(`unseen files: ${r.unseen}${r.sources.every((s) => s.staleCheckComplete) ? "" : "+"}`);
  }
  out.push(`freshness lag: ${duration(r.freshnessLagMs)}`);
  const t = r.textLayers;
  if (t.pages.ocr + t.pages.none > 0) {
    const conf = t.meanOcrConfidence === null ? "" : `, mean OCR confidence ${t.meanOcrConfidence.toFixed(0)}`;
    const why = Object.entries(t.pagesWithoutText)
      .map(([code, n]) => `${n} ${code}`)
      .join(", ");
    out.push(
      `PDF pages: ${t.pages.native} native, ${t.pages.ocr} OCR'd${conf}, ${t.pages.none} without text${why ? ` (${why})` : ""}`,
    );
  }
  const q = r.queue;
  out.push(
    q
      ? q.error
        ? `queue: unavailable (${q.error})`
        : `queue: ${q.waiting} waiting, ${q.active} active, ${q.failed} failed`
      : "queue: not visible from here",
  );
  if (r.workers) {
    out.push(
      `workers: ${r.workers.length ? r.workers.map((w) => `${w.name} (idle ${w.idleSeconds}s)`).join(", ") : "none connected"}`,
    );
  }
  out.push("");
  out.push(
    table(
      [
        "SOURCE",
        "ROOT",
        "COLLECTION",
        "INDEXED",
        "PENDING",
        "FAILED",
        "STALE",
        "LAG",
        "LAST SCAN",
        "LAST EVENT",
        "UNSEEN",
      ],
      r.sources.map((s) => [
        s.id,
        s.root,
        s.collection,
        String(s.documents.indexed),
        String(s.documents.pending),
        String(s.documents.failed),
        `${s.documents.stale}${s.staleCheckComplete ? "" : "+"}`,
        duration(s.freshnessLagMs),
        ago(s.lastScanAt, now),
        ago(s.lastEventAt, now),
        `${s.unseen ?? 0}${s.staleCheckComplete ? "" : "+"}`,
      ]),
    ),
  );
  return `${out.join("\n")}\n`;
}
