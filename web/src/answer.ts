import { h, fill, type Child } from "./dom.js";
import { placeOf } from "./markdown.js";
import type { Citation } from "./types.js";

/** The link that opens the source viewer at a citation's chunk (and page, for a PDF). */
export function viewerHref(c: Pick<Citation, "documentId" | "chunkId" | "page">): string {
  const q = new URLSearchParams({ chunk: c.chunkId });
  if (c.page !== null) {
    q.set("page", String(c.page));
  }
  return `#/source/${encodeURIComponent(c.documentId)}?${q}`;
}

/**
 * Renders answer text with each `[n]` as a focusable link to its source. Hovering or focusing one
 * shows a card with the snippet, file, page and heading path (`lookup` resolves n, as the
 * numbers known so far while streaming). Only text nodes and elements: never HTML.
 */
export function renderAnswer(
  target: HTMLElement,
  text: string,
  lookup: (n: number) => Citation | undefined,
  card: CitationCard,
): void {
  const paragraphs = text.split(/\n{2,}/).filter((p) => p.trim() !== "");
  fill(
    target,
    ...paragraphs.map((p) => {
      const parts: Child[] = [];
      let last = 0;
      for (const m of p.matchAll(/\[(\d{1,3})\]/g)) {
        parts.push(p.slice(last, m.index));
        parts.push(marker(Number(m[1]), lookup, card));
        last = m.index + m[0].length;
      }
      parts.push(p.slice(last));
      return h("p", {}, ...parts);
    }),
  );
}

function marker(n: number, lookup: (n: number) => Citation | undefined, card: CitationCard): HTMLElement {
  const c = lookup(n);
  const a = h(
    "a",
    { class: "cite", attrs: { href: c ? viewerHref(c) : "#", "data-n": String(n), "aria-describedby": "cite-card" } },
    `[${n}]`,
  );
  const show = () => {
    const now = lookup(n);
    if (now) {
      card.show(a, now);
    }
  };
  a.addEventListener("mouseenter", show);
  a.addEventListener("focus", show);
  a.addEventListener("mouseleave", () => card.hide());
  a.addEventListener("blur", () => card.hide());
  a.addEventListener("click", (ev) => {
    const now = lookup(n);
    ev.preventDefault();
    if (now) {
      location.hash = viewerHref(now);
    }
  });
  return a;
}

/** The one floating card that describes the citation under the pointer or the keyboard focus. */
export class CitationCard {
  readonly el = h("div", { class: "cite-card", attrs: { id: "cite-card", role: "tooltip", hidden: "" } });

  constructor() {
    document.addEventListener("keydown", (ev) => {
      if (ev.key === "Escape") {
        this.hide();
      }
    });
  }

  show(anchor: HTMLElement, c: Citation): void {
    fill(
      this.el,
      h("div", { class: "cite-place" }, h("strong", {}, `[${c.n}] `), placeOf(c)),
      h(
        "blockquote",
        { class: "cite-snippet" },
        c.snippet ? c.snippet : "(the snippet arrives with the verified answer)",
      ),
      h("div", { class: "cite-hint" }, "Click or press Enter to open the source"),
    );
    this.el.hidden = false;
    // Positioned through the CSSOM (allowed by the style-src policy; style attributes in markup are not).
    const r = anchor.getBoundingClientRect();
    const width = Math.min(360, window.innerWidth - 16);
    this.el.style.width = `${width}px`;
    this.el.style.left = `${Math.max(8, Math.min(r.left + window.scrollX, window.scrollX + window.innerWidth - width - 8))}px`;
    this.el.style.top = `${r.bottom + window.scrollY + 6}px`;
  }

  hide(): void {
    this.el.hidden = true;
  }
}
