import { json, postJson, type Who } from "./api.js";
import { fill, fmtMs, fmtTime, h } from "./dom.js";

interface Counts {
  indexed: number;
  pending: number;
  failed: number;
  stale: number;
}
interface Generation {
  id: number;
  status: string;
  embedderKey: string;
  progress: { total: number; done: number; failed: number };
  error: string | null;
}
interface Status {
  generation: Generation | null;
  reindex: Generation | null;
  lastFailedReindex: Generation | null;
  documents: Counts;
  freshnessLagMs: number;
  sources: Array<{
    id: string;
    root: string;
    collection: string;
    documents: Counts;
    lastScanAt: string | null;
    lastEventAt: string | null;
    freshnessLagMs: number;
    staleCheckComplete: boolean;
  }>;
  queue: { waiting: number | null; active: number | null; failed: number | null } | null;
}
interface Doc {
  id: string;
  sourceId: string;
  path: string;
  collection: string;
  status: "pending" | "indexed" | "failed";
  chunkCount: number;
  errorCode: string | null;
  error: string | null;
  indexedAt: string | null;
}
interface DocPage {
  documents: Doc[];
  total: number;
  offset: number;
  nextOffset: number | null;
}

const PAGE = 20;
const POLL_MS = 1500;
// Kept across visits to the page, like the Ask page's answer.
const filters = { status: "", collection: "", source: "", offset: 0 };

const cell = (v: string | number, cls?: string) => h("td", cls ? { class: cls } : {}, String(v));

/** Sources and freshness: counts per watched source, failures with reasons, the document list; polls while shown. */
export function sourcesPage(who: Who): { el: HTMLElement; dispose: () => void } {
  const summary = h("div", { class: "cards", attrs: { id: "status-summary", "aria-live": "polite" } });
  const reindex = h("div", { class: "reindex", attrs: { id: "reindex" } });
  const sourceTable = h("tbody", { attrs: { id: "source-rows" } });
  const failed = h("ul", { class: "failed", attrs: { id: "failed-docs" } });
  const docRows = h("tbody", { attrs: { id: "doc-rows" } });
  const pager = h("div", { class: "pager" });
  const error = h("p", { class: "error", attrs: { role: "alert", hidden: "" } });
  const select = (id: string, label: string, options: string[], key: "status" | "collection" | "source") => {
    const s = h(
      "select",
      { attrs: { id } },
      h("option", { attrs: { value: "" } }, "all"),
      ...options.map((o) => h("option", { attrs: { value: o } }, o)),
    );
    s.value = filters[key];
    s.addEventListener("change", () => {
      filters[key] = s.value;
      filters.offset = 0;
      void refresh();
    });
    return h("label", {}, `${label} `, s);
  };
  const sourceSelect = h("span");

  const el = h(
    "section",
    { class: "page sources", attrs: { "aria-labelledby": "sources-title" } },
    h("h1", { attrs: { id: "sources-title" } }, "Sources"),
    error,
    summary,
    reindex,
    h("h2", {}, "Watched sources"),
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
            ...["Folder", "Collection", "Indexed", "Pending", "Failed", "Stale", "Freshness lag", "Last scan"].map(
              (t) => h("th", { attrs: { scope: "col" } }, t),
            ),
          ),
        ),
        sourceTable,
      ),
    ),
    h("h2", {}, "Failed documents"),
    failed,
    h("h2", {}, "Documents"),
    h(
      "div",
      { class: "filters" },
      select("filter-status", "Status", ["pending", "indexed", "failed"], "status"),
      select("filter-collection", "Collection", who.collections, "collection"),
      sourceSelect,
    ),
    h(
      "div",
      { class: "scroll" },
      h(
        "table",
        { attrs: { id: "documents" } },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ...["Path", "Collection", "Status", "Chunks", "Indexed"].map((t) =>
              h("th", { attrs: { scope: "col" } }, t),
            ),
          ),
        ),
        docRows,
      ),
    ),
    pager,
  );

  let sourceIds = "";
  // Re-rendered only when they change, so polling does not take the keyboard focus off a link.
  let lastFails = "";
  let lastPage = "";
  let lastStatus = "";
  async function refresh() {
    try {
      const q = new URLSearchParams({ limit: String(PAGE), offset: String(filters.offset) });
      for (const k of ["status", "collection", "source"] as const) {
        if (filters[k]) {
          q.set(k, filters[k]);
        }
      }
      const [status, page, fails] = await Promise.all([
        json<Status>("/status"),
        json<DocPage>(`/documents?${q}`),
        json<DocPage>("/documents?status=failed&limit=50"),
      ]);
      error.hidden = true;
      const statusSig = JSON.stringify(status);
      if (statusSig !== lastStatus) {
        lastStatus = statusSig;
        renderStatus(status);
      }
      const ids = status.sources.map((s) => s.id).join(",");
      if (ids !== sourceIds) {
        sourceIds = ids;
        fill(
          sourceSelect,
          select(
            "filter-source",
            "Source",
            status.sources.map((s) => s.id),
            "source",
          ),
        );
      }
      const failsSig = JSON.stringify(fails.documents);
      const pageSig = JSON.stringify([page, filters.offset]);
      if (failsSig !== lastFails) {
        lastFails = failsSig;
        fill(
          failed,
          ...(fails.documents.length
            ? fails.documents.map((d) =>
                h(
                  "li",
                  {},
                  h("a", { attrs: { href: `#/source/${d.id}` } }, d.path),
                  ` (${d.collection}) `,
                  h("code", {}, d.errorCode ?? "failed"),
                  h("div", { class: "reason" }, d.error ?? ""),
                ),
              )
            : [h("li", { class: "muted" }, "None.")]),
        );
      }
      if (pageSig === lastPage) {
        return;
      }
      lastPage = pageSig;
      fill(
        docRows,
        ...page.documents.map((d) =>
          h(
            "tr",
            { attrs: { "data-path": d.path, "data-status": d.status } },
            h("td", {}, h("a", { attrs: { href: `#/source/${d.id}` } }, d.path)),
            cell(d.collection),
            h("td", {}, h("span", { class: `badge ${d.status}` }, d.status)),
            cell(d.chunkCount, "num"),
            cell(fmtTime(d.indexedAt)),
          ),
        ),
      );
      const prev = h("button", { attrs: { type: "button" } }, "← Previous");
      const next = h("button", { attrs: { type: "button" } }, "Next →");
      prev.disabled = filters.offset === 0;
      next.disabled = page.nextOffset === null;
      const goTo = (offset: number) => () => {
        filters.offset = offset;
        void refresh();
      };
      prev.addEventListener("click", goTo(Math.max(0, filters.offset - PAGE)));
      next.addEventListener("click", goTo(page.nextOffset ?? filters.offset));
      const shown = page.documents.length
        ? `${page.offset + 1}–${page.offset + page.documents.length} of ${page.total}`
        : `0 of ${page.total}`;
      fill(pager, prev, h("span", {}, shown), next);
    } catch (err) {
      error.textContent = `Could not refresh: ${(err as Error).message}`;
      error.hidden = false;
    }
  }

  function renderStatus(s: Status) {
    const card = (label: string, value: string, id?: string) =>
      h(
        "div",
        { class: "card" },
        h("div", { class: "label" }, label),
        h("div", { class: "value", attrs: id ? { id } : {} }, value),
      );
    fill(
      summary,
      card("Indexed", String(s.documents.indexed), "count-indexed"),
      card("Pending", String(s.documents.pending), "count-pending"),
      card("Failed", String(s.documents.failed), "count-failed"),
      card("Stale", String(s.documents.stale)),
      card("Freshness lag", fmtMs(s.freshnessLagMs)),
      card("Queue", s.queue ? `${s.queue.waiting ?? "?"} waiting, ${s.queue.active ?? "?"} active` : "–"),
      card("Index generation", s.generation ? `#${s.generation.id}` : "none"),
    );
    const r = s.reindex;
    const button = who.admin
      ? h("button", { attrs: { type: "button", id: "reindex-button" } }, "Re-index everything")
      : null;
    button?.addEventListener("click", async () => {
      if (
        !confirm(
          "Build a new index generation from every document? Answers keep using the current one until it is done.",
        )
      ) {
        return;
      }
      try {
        await postJson("/admin/reindex", {});
        void refresh();
      } catch (err) {
        error.textContent = `Re-index not started: ${(err as Error).message}`;
        error.hidden = false;
      }
    });
    if (button && r) {
      button.disabled = true;
    }
    fill(
      reindex,
      s.generation ? h("p", { class: "muted" }, `Embedder ${s.generation.embedderKey}`) : null,
      r
        ? h(
            "p",
            {},
            `Re-index to generation #${r.id}: ${r.progress.done} of ${r.progress.total} documents${r.progress.failed ? `, ${r.progress.failed} failed` : ""} `,
            h("progress", {
              attrs: {
                max: String(Math.max(1, r.progress.total)),
                value: String(r.progress.done),
                "aria-label": "Re-index progress",
              },
            }),
          )
        : null,
      s.lastFailedReindex
        ? h(
            "p",
            { class: "warn" },
            `The last re-index (#${s.lastFailedReindex.id}) failed${s.lastFailedReindex.error ? `: ${s.lastFailedReindex.error}` : "."}`,
          )
        : null,
      button,
    );
    fill(
      sourceTable,
      ...s.sources.map((src) =>
        h(
          "tr",
          { attrs: { "data-source": src.id } },
          h("td", { class: "path" }, src.root),
          cell(src.collection),
          cell(src.documents.indexed, "num"),
          cell(src.documents.pending, "num"),
          cell(src.documents.failed, "num"),
          cell(`${src.documents.stale}${src.staleCheckComplete ? "" : "+"}`, "num"),
          cell(fmtMs(src.freshnessLagMs)),
          cell(fmtTime(src.lastScanAt)),
        ),
      ),
    );
  }

  void refresh();
  // Polling, paused while the tab is hidden: a dropped file shows up as pending, then indexed.
  const timer = setInterval(() => {
    if (!document.hidden) {
      void refresh();
    }
  }, POLL_MS);
  return { el, dispose: () => clearInterval(timer) };
}
