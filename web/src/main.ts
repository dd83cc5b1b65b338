import "uplot/dist/uPlot.min.css";
import "./app.css";
import { forgetKey, json, storedKey, type Who } from "./api.js";
import { askPage } from "./ask.js";
import { fill, h } from "./dom.js";
import { qualityPage } from "./quality.js";
import { sourcesPage } from "./sources.js";
import { viewerPage } from "./viewer.js";

let who: Who | null = null;
let ask: HTMLElement | null = null;
let dispose: (() => void) | null = null;

/** Hash routes: #/ask, #/sources, #/quality, #/source/<document id>?chunk=&page=. */
async function route() {
  const main = document.getElementById("main")!;
  dispose?.();
  dispose = null;
  try {
    who ??= await json<Who>("/whoami");
  } catch (err) {
    fill(
      main,
      h("p", { class: "error", attrs: { role: "alert" } }, `The service did not answer: ${(err as Error).message}`),
    );
    return;
  }
  renderWho(who);
  const [path = "", query = ""] = location.hash.replace(/^#/, "").split("?");
  const parts = path.split("/").filter(Boolean);
  const page = parts[0] ?? "ask";
  for (const a of document.querySelectorAll<HTMLAnchorElement>("nav a")) {
    if (a.dataset.page === page) {
      a.setAttribute("aria-current", "page");
    } else {
      a.removeAttribute("aria-current");
    }
  }
  if (page === "sources") {
    const p = sourcesPage(who);
    dispose = p.dispose;
    fill(main, p.el);
  } else if (page === "quality") {
    const p = qualityPage();
    dispose = p.dispose;
    fill(main, p.el);
  } else if (page === "source" && parts[1]) {
    const p = viewerPage(decodeURIComponent(parts[1]), new URLSearchParams(query));
    dispose = p.dispose;
    fill(main, p.el);
    return;
  } else {
    ask ??= askPage(who);
    fill(main, ask);
  }
  document.title = `${page[0]!.toUpperCase()}${page.slice(1)} · RAG service`;
}

function renderWho(w: Who) {
  const el = document.getElementById("who")!;
  if (!w.authentication) {
    return fill(el, h("span", { class: "muted" }, "No authentication"));
  }
  const signOut = h("button", { attrs: { type: "button", class: "link" } }, "Forget key");
  signOut.addEventListener("click", () => {
    forgetKey();
    location.reload();
  });
  fill(
    el,
    h(
      "span",
      { class: "muted" },
      `Key ${w.keyId ?? ""} · ${w.allCollections ? "all collections" : w.collections.join(", ")}${w.admin ? " · admin" : ""} `,
    ),
    storedKey() ? signOut : null,
  );
}

window.addEventListener("hashchange", () => void route());
void route();
