import { api, errorOf, json } from "./api.js";
import { fill, h } from "./dom.js";

interface DocumentText {
  id: string;
  path: string;
  collection: string;
  format: "markdown" | "html" | "text" | "pdf";
  title: string | null;
  pageCount: number | null;
  changed: boolean;
  text: string;
  chunks: Array<{ id: string; start: number; end: number; page: number | null; headingPath: string[] }>;
}

// Back to where the citation was clicked (the Ask page keeps its answer); the Ask page when opened directly.
function back(ev: MouseEvent) {
  ev.preventDefault();
  if (history.length > 1) {
    history.back();
  } else {
    location.hash = "#/ask";
  }
}

/**
 * The source viewer: the document's text, escaped (text nodes only: an HTML source shows its text,
 * never runs), with the cited chunk highlighted and scrolled into view; a PDF also opens in the
 * browser's viewer at the cited page, from a blob: URL of bytes fetched with the key.
 */
export function viewerPage(documentId: string, params: URLSearchParams): { el: HTMLElement; dispose: () => void } {
  const body = h("div", { class: "viewer-body" }, h("p", { class: "muted" }, "Loading…"));
  const el = h(
    "section",
    { class: "page viewer", attrs: { "aria-labelledby": "viewer-title" } },
    h("p", {}, h("a", { attrs: { href: "#/ask" }, on: { click: back } }, "← Back")),
    h("h1", { attrs: { id: "viewer-title" } }, "Source"),
    body,
  );
  let blobUrl: string | null = null;
  void load().catch((err: Error) => fill(body, h("p", { class: "error", attrs: { role: "alert" } }, err.message)));

  async function load() {
    const doc = await json<DocumentText>(`/documents/${encodeURIComponent(documentId)}/content?view=text`);
    const chunk = doc.chunks.find((c) => c.id === params.get("chunk"));
    const pageParam = Number(params.get("page"));
    const page = chunk?.page ?? (Number.isInteger(pageParam) && pageParam > 0 ? pageParam : null);
    el.querySelector("h1")!.textContent = doc.path;
    const notes = [
      h(
        "p",
        { class: "muted" },
        `${doc.collection} · ${doc.format}${doc.pageCount ? ` · ${doc.pageCount} pages` : ""}${doc.title ? ` · ${doc.title}` : ""}`,
      ),
      doc.changed
        ? h(
            "p",
            { class: "warn" },
            "The file has changed since it was indexed: the highlight may be off until it is indexed again.",
          )
        : null,
      params.get("chunk") && !chunk
        ? h(
            "p",
            { class: "warn" },
            "The cited passage is no longer in the index (the file was re-indexed); showing the document.",
          )
        : null,
    ];
    let pdf: HTMLElement | null = null;
    if (doc.format === "pdf") {
      const res = await api(`/documents/${encodeURIComponent(documentId)}/content`);
      if (!res.ok) {
        throw await errorOf(res);
      }
      blobUrl = URL.createObjectURL(new Blob([await res.arrayBuffer()], { type: "application/pdf" }));
      const at = `${blobUrl}#page=${page ?? 1}`;
      pdf = h(
        "div",
        { class: "pdf" },
        h(
          "p",
          {},
          h(
            "a",
            { attrs: { href: at, target: "_blank", rel: "noopener", id: "pdf-link" } },
            `Open the PDF at page ${page ?? 1}`,
          ),
        ),
        h("iframe", { attrs: { src: at, title: `${doc.path}, page ${page ?? 1}`, id: "pdf-frame" } }),
      );
    }
    const text = h("pre", { class: "doc-text", attrs: { tabindex: "0", "aria-label": "Document text" } });
    let mark: HTMLElement | null = null;
    if (chunk && chunk.end <= doc.text.length) {
      mark = h("mark", { attrs: { id: "cited", tabindex: "-1" } }, doc.text.slice(chunk.start, chunk.end));
      text.append(doc.text.slice(0, chunk.start), mark, doc.text.slice(chunk.end));
    } else {
      text.append(doc.text);
    }
    fill(
      body,
      ...notes,
      chunk?.headingPath.length ? h("p", { class: "heading-path" }, chunk.headingPath.join(" › ")) : null,
      pdf,
      h("h2", {}, doc.format === "pdf" ? `Extracted text${page ? ` (cited passage on page ${page})` : ""}` : "Text"),
      text,
    );
    if (mark) {
      mark.scrollIntoView({ block: "center" });
      mark.focus({ preventScroll: true });
    }
  }

  return {
    el,
    dispose: () => {
      if (blobUrl) {
        URL.revokeObjectURL(blobUrl);
      }
    },
  };
}
