import { json } from "./api.js";
import { fill, fmtMs, fmtNum, fmtTime, h } from "./dom.js";

interface Summary {
  queries: number;
  answered: number;
  abstained: number;
  abstentionRate: number | null;
  metrics: Record<string, { mean: number | null; count: number }>;
  latencyMs: { p50: number | null; p95: number | null };
  feedback: { up: number; down: number; withComment: number };
}
interface Bucket {
  start: string;
  queries: number;
  abstentionRate: number;
  faithfulness: number | null;
  answerRelevancy: number | null;
  contextPrecision: number | null;
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
}
interface Recent {
  id: string;
  createdAt: string;
  question: string;
  collection: string | null;
  abstained: boolean;
  metrics: Record<string, number | null> | null;
  totalMs: number | null;
  feedback: { up: number; down: number; lastComment: string | null };
}
interface EvalReport {
  file: string;
  kind: string | null;
  name: string | null;
  date: string | null;
  commit: string | null;
  figures: Record<string, number>;
}

const WINDOWS = [
  ["24h", "Last 24 hours"],
  ["7d", "Last 7 days"],
  ["30d", "Last 30 days"],
] as const;
let since: string = "7d";
// The figures an eval report is judged by first; the rest are in its .md beside the .json.
const HEADLINE = [
  "ndcg@10",
  "recall@10",
  "recall@100",
  "faithfulness",
  "answerRelevancy",
  "contextPrecision",
  "abstentionAccuracy",
  "latencyP50Ms",
  "latencyP95Ms",
];

/** Quality over time: metric means and latency as charts, recent answers with feedback, eval reports. */
export function qualityPage(): { el: HTMLElement; dispose: () => void } {
  const cards = h("div", { class: "cards", attrs: { id: "quality-summary" } });
  const metricsChart = h("div", { class: "chart", attrs: { id: "chart-metrics" } });
  const latencyChart = h("div", { class: "chart", attrs: { id: "chart-latency" } });
  const recent = h("tbody", { attrs: { id: "recent-rows" } });
  const evals = h("div", { attrs: { id: "eval-reports" } });
  const error = h("p", { class: "error", attrs: { role: "alert", hidden: "" } });
  const windowSelect = h(
    "select",
    { attrs: { id: "quality-window" } },
    ...WINDOWS.map(([v, label]) => h("option", { attrs: { value: v } }, label)),
  );
  windowSelect.value = since;
  windowSelect.addEventListener("change", () => {
    since = windowSelect.value;
    void load();
  });
  let destroy: Array<() => void> = [];

  const el = h(
    "section",
    { class: "page quality", attrs: { "aria-labelledby": "quality-title" } },
    h("h1", { attrs: { id: "quality-title" } }, "Quality"),
    h("label", {}, "Window ", windowSelect),
    error,
    cards,
    h("h2", {}, "Over time"),
    metricsChart,
    latencyChart,
    h("h2", {}, "Recent answers"),
    h(
      "div",
      { class: "scroll" },
      h(
        "table",
        {},
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ...["When", "Question", "Faithful", "Relevant", "Precision", "Latency", "Feedback"].map((t) =>
              h("th", { attrs: { scope: "col" } }, t),
            ),
          ),
        ),
        recent,
      ),
    ),
    h("h2", {}, "Evaluation reports"),
    h("p", { class: "muted" }, "Written by npm run eval; the full tables are in the .md beside each report."),
    evals,
  );

  async function load() {
    try {
      const q = `since=${encodeURIComponent(since)}`;
      const [summary, series, list, reports] = await Promise.all([
        json<Summary>(`/quality?${q}`),
        json<{ window: { since: string; until: string }; buckets: Bucket[] }>(`/quality/series?${q}`),
        json<{ queries: Recent[] }>(`/quality/recent?${q}&limit=20`),
        json<{ reports: EvalReport[] }>("/quality/evals"),
      ]);
      error.hidden = true;
      renderSummary(summary);
      renderRecent(list.queries);
      renderEvals(reports.reports);
      await renderCharts(series.buckets, [
        Date.parse(series.window.since) / 1000,
        Date.parse(series.window.until) / 1000,
      ]);
    } catch (err) {
      error.textContent = `Could not load: ${(err as Error).message}`;
      error.hidden = false;
    }
  }

  function renderSummary(s: Summary) {
    const card = (label: string, value: string, id?: string) =>
      h(
        "div",
        { class: "card" },
        h("div", { class: "label" }, label),
        h("div", { class: "value", attrs: id ? { id } : {} }, value),
      );
    fill(
      cards,
      card("Queries", String(s.queries), "q-queries"),
      card("Abstention rate", s.abstentionRate === null ? "–" : `${Math.round(s.abstentionRate * 100)}%`),
      card("Faithfulness", fmtNum(s.metrics.faithfulness?.mean)),
      card("Answer relevancy", fmtNum(s.metrics.answerRelevancy?.mean)),
      card("Context precision", fmtNum(s.metrics.contextPrecision?.mean)),
      card("Latency p50 / p95", `${fmtMs(s.latencyMs.p50)} / ${fmtMs(s.latencyMs.p95)}`),
      card("Feedback", `${s.feedback.up} up · ${s.feedback.down} down`, "q-feedback"),
    );
  }

  async function renderCharts(buckets: Bucket[], span: [number, number]) {
    for (const d of destroy) {
      d();
    }
    destroy = [];
    if (buckets.length === 0) {
      fill(metricsChart, h("p", { class: "muted" }, "No answers in this window yet."));
      fill(latencyChart);
      return;
    }
    fill(metricsChart);
    fill(latencyChart);
    // The chart library is a separate chunk: a first visit to Ask or Sources never downloads it.
    const { lineChart } = await import("./charts.js");
    const t = buckets.map((b) => Date.parse(b.start) / 1000);
    destroy.push(
      lineChart(
        metricsChart,
        "Metric means",
        span,
        t,
        [
          { label: "Faithfulness", values: buckets.map((b) => b.faithfulness), stroke: "#1b7f3b" },
          { label: "Answer relevancy", values: buckets.map((b) => b.answerRelevancy), stroke: "#1f5fbf" },
          { label: "Context precision", values: buckets.map((b) => b.contextPrecision), stroke: "#8a4bbf" },
          { label: "Abstention rate", values: buckets.map((b) => b.abstentionRate), stroke: "#c0392b" },
        ],
        [0, 1],
      ),
      lineChart(latencyChart, "Latency (ms)", span, t, [
        { label: "p50", values: buckets.map((b) => b.latencyP50Ms), stroke: "#1f5fbf" },
        { label: "p95", values: buckets.map((b) => b.latencyP95Ms), stroke: "#c0392b" },
      ]),
    );
  }

  function renderRecent(rows: Recent[]) {
    fill(
      recent,
      ...(rows.length
        ? rows.map((r) =>
            h(
              "tr",
              { attrs: { "data-query": r.id } },
              h("td", {}, fmtTime(r.createdAt)),
              h(
                "td",
                { class: "question" },
                r.question,
                r.abstained ? h("span", { class: "badge removed" }, " abstained") : null,
              ),
              h("td", { class: "num" }, fmtNum(r.metrics?.faithfulness)),
              h("td", { class: "num" }, fmtNum(r.metrics?.answerRelevancy)),
              h("td", { class: "num" }, fmtNum(r.metrics?.contextPrecision)),
              h("td", { class: "num" }, fmtMs(r.totalMs)),
              h(
                "td",
                { class: "feedback-cell" },
                r.feedback.up || r.feedback.down ? `${r.feedback.up} up, ${r.feedback.down} down` : "–",
                r.feedback.lastComment ? h("div", { class: "muted" }, r.feedback.lastComment) : null,
              ),
            ),
          )
        : [h("tr", {}, h("td", { attrs: { colspan: "7" }, class: "muted" }, "No answers in this window."))]),
    );
  }

  function renderEvals(reports: EvalReport[]) {
    fill(
      evals,
      ...(reports.length
        ? reports.map((r) =>
            h(
              "div",
              { class: "eval" },
              h(
                "h3",
                {},
                r.name ?? r.file,
                h("span", { class: "muted" }, ` ${r.kind ?? ""} · ${fmtTime(r.date)} · ${r.commit ?? ""}`),
              ),
              h(
                "dl",
                { class: "figures" },
                ...HEADLINE.filter((k) => k in r.figures).flatMap((k) => [
                  h("dt", {}, k),
                  h("dd", {}, k.endsWith("Ms") ? fmtMs(r.figures[k]) : fmtNum(r.figures[k], 3)),
                ]),
              ),
            ),
          )
        : [h("p", { class: "muted" }, "No reports yet: run npm run eval.")]),
    );
  }

  void load();
  const timer = setInterval(() => {
    if (!document.hidden) {
      void load();
    }
  }, 15_000);
  return {
    el,
    dispose: () => {
      clearInterval(timer);
      for (const d of destroy) {
        d();
      }
    },
  };
}
