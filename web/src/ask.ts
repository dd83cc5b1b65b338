import { api, errorOf, postJson, type Who } from "./api.js";
import { CitationCard, renderAnswer, viewerHref } from "./answer.js";
import { fill, fmtMs, fmtNum, h } from "./dom.js";
import { answerMarkdown, placeOf } from "./markdown.js";
import { readSse } from "./sse.js";
import type { AskResponse, Citation, Verification } from "./types.js";

/**
 * The Ask page. Built once and kept, so going to a source and back finds the answer as it was.
 */
export function askPage(who: Who): HTMLElement {
  const card = new CitationCard();
  const question = h("textarea", {
    attrs: {
      id: "question",
      rows: "3",
      required: "",
      maxlength: "2000",
      placeholder: "Ask a question about your documents",
    },
  });
  const picker = h(
    "select",
    { attrs: { id: "collection" } },
    h("option", { attrs: { value: "" } }, who.allCollections ? "All collections" : "All my collections"),
    ...who.collections.map((c) => h("option", { attrs: { value: c } }, c)),
  );
  const submit = h("button", { attrs: { type: "submit", id: "ask-button" } }, "Ask");
  const status = h("p", { class: "status", attrs: { role: "status", "aria-live": "polite", id: "ask-status" } });
  const answer = h("article", {
    class: "answer",
    attrs: { id: "answer", "aria-live": "polite", "aria-busy": "false" },
  });
  const abstain = h("div", { class: "abstain", attrs: { id: "abstain", hidden: "" } });
  const sources = h("ol", { class: "sources", attrs: { id: "sources" } });
  const why = h("details", { class: "why", attrs: { id: "why", hidden: "" } });
  const feedback = h("div", { class: "feedback", attrs: { id: "feedback", hidden: "" } });
  const copy = h(
    "button",
    { attrs: { type: "button", id: "copy", hidden: "" } },
    "Copy answer with sources (Markdown)",
  );

  let current: { question: string; response: AskResponse } | null = null;
  let inflight: AbortController | null = null;

  copy.addEventListener("click", async () => {
    if (!current) {
      return;
    }
    const md = answerMarkdown(current.question, current.response.answer, current.response.citations);
    try {
      await navigator.clipboard.writeText(md);
      status.textContent = "Copied the answer and its sources as Markdown.";
    } catch {
      status.textContent = "The browser refused the clipboard; select the text below to copy it.";
      answer.append(
        h(
          "textarea",
          { class: "copy-fallback", attrs: { readonly: "", rows: "8", "aria-label": "Answer as Markdown" } },
          md,
        ),
      );
    }
  });

  const form = h(
    "form",
    {
      class: "ask-form",
      on: {
        submit: (ev) => {
          ev.preventDefault();
          void ask(question.value.trim(), picker.value);
        },
      },
    },
    h("label", { attrs: { for: "question" } }, "Question"),
    question,
    h("div", { class: "row" }, h("label", { attrs: { for: "collection" } }, "Collection"), picker, submit),
  );
  // Enter asks, Shift+Enter is a new line, as in every chat box.
  question.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey) {
      ev.preventDefault();
      form.requestSubmit();
    }
  });

  async function ask(q: string, collection: string) {
    if (!q) {
      return;
    }
    inflight?.abort();
    const ctrl = new AbortController();
    inflight = ctrl;
    current = null;
    for (const el of [abstain, why, feedback, copy]) {
      el.hidden = true;
    }
    fill(answer);
    fill(sources);
    status.textContent = "Searching…";
    answer.setAttribute("aria-busy", "true");
    submit.disabled = true;
    const known = new Map<number, Citation>();
    const lookup = (n: number) => known.get(n);
    let draft = "";
    try {
      const res = await api("/ask", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
        body: JSON.stringify({ question: q, stream: true, ...(collection ? { collection } : {}) }),
        signal: ctrl.signal,
      });
      if (!res.ok || !res.body) {
        throw await errorOf(res);
      }
      for await (const ev of readSse(res.body)) {
        const data = JSON.parse(ev.data) as Record<string, unknown>;
        if (ev.event === "retrieval") {
          for (const s of data.sources as Citation[]) {
            known.set(s.n, s);
          }
          status.textContent = `Writing from ${known.size} source${known.size === 1 ? "" : "s"}…`;
        } else if (ev.event === "delta") {
          draft = data.restart ? "" : draft + String(data.text);
          renderAnswer(answer, draft, lookup, card);
        } else if (ev.event === "citations") {
          for (const c of data.citations as Citation[]) {
            known.set(c.n, c);
          }
        } else if (ev.event === "done") {
          const response = data as unknown as AskResponse;
          current = { question: q, response };
          for (const c of response.citations) {
            known.set(c.n, c);
          }
          show(response, lookup);
        } else if (ev.event === "error") {
          const e = (data as { error?: { message?: string } }).error;
          throw new Error(e?.message ?? "The answer failed.");
        }
      }
      if (!current) {
        throw new Error("The answer stream ended before the answer was complete.");
      }
    } catch (err) {
      if (ctrl.signal.aborted) {
        return;
      }
      status.textContent = `Error: ${(err as Error).message}`;
    } finally {
      if (inflight === ctrl) {
        answer.setAttribute("aria-busy", "false");
        submit.disabled = false;
      }
    }
  }

  function show(r: AskResponse, lookup: (n: number) => Citation | undefined) {
    // The verified answer replaces the raw deltas: sentences may have been removed or re-cited.
    renderAnswer(answer, r.answer, lookup, card);
    status.textContent = `${r.abstained ? "Abstained" : "Answered"} in ${fmtMs(r.timings.totalMs)}.`;
    if (r.abstained) {
      fill(
        abstain,
        h("strong", {}, "No answer: "),
        r.abstainReason ?? "the sources did not support an answer.",
        r.answerability
          ? h(
              "span",
              { class: "score" },
              ` Answerability ${fmtNum(r.answerability.score)} (needs ${fmtNum(r.answerability.threshold)}).`,
            )
          : null,
      );
      abstain.hidden = false;
    }
    fill(
      sources,
      ...r.citations.map((c) =>
        h(
          "li",
          { attrs: { value: String(c.n) } },
          h("a", { attrs: { href: viewerHref(c) } }, placeOf(c)),
          c.snippet ? h("div", { class: "snippet" }, c.snippet) : null,
        ),
      ),
    );
    renderWhy(why, r.verification);
    why.hidden = false;
    renderFeedback(feedback, r.queryId);
    feedback.hidden = false;
    copy.hidden = false;
  }

  return h(
    "section",
    { class: "page ask", attrs: { "aria-labelledby": "ask-title" } },
    h("h1", { attrs: { id: "ask-title" } }, "Ask"),
    form,
    status,
    answer,
    abstain,
    h("h2", { class: "sources-title" }, "Sources"),
    sources,
    why,
    h("div", { class: "actions" }, copy),
    feedback,
    card.el,
  );
}

/** "Why": what the verifier did with every sentence of the answer, and its reason. */
function renderWhy(el: HTMLElement, v: Verification) {
  const summary = `Why this answer: ${v.sentences} sentence${v.sentences === 1 ? "" : "s"} checked — ${v.kept} kept, ${v.moved} moved, ${v.removed} removed, ${v.flagged} flagged`;
  fill(
    el,
    h("summary", {}, summary),
    h(
      "p",
      { class: "muted" },
      `Method ${v.method}, mode ${v.mode}; ${Math.round(v.supportedShare * 100)}% of claims supported.`,
    ),
    h(
      "ol",
      { class: "checks" },
      ...v.details.map((d) =>
        h(
          "li",
          { class: `check ${d.status}` },
          h("span", { class: `badge ${d.status}` }, d.status),
          h("span", { class: "sentence" }, d.text),
          h(
            "span",
            { class: "reason" },
            d.reason,
            d.status === "moved" ? ` (cited [${d.citedBefore.join("], [")}], now [${d.cites.join("], [")}])` : "",
          ),
        ),
      ),
    ),
  );
}

function renderFeedback(el: HTMLElement, queryId: string) {
  const result = h("span", { class: "muted", attrs: { role: "status", id: "feedback-status" } });
  const comment = h("input", {
    attrs: { type: "text", id: "feedback-comment", maxlength: "2000", placeholder: "Optional comment" },
  });
  const send = (rating: 1 | -1) => async () => {
    try {
      await postJson("/feedback", {
        queryId,
        rating,
        ...(comment.value.trim() ? { comment: comment.value.trim() } : {}),
      });
      result.textContent = "Thanks: your rating is recorded.";
      up.disabled = down.disabled = true;
      up.setAttribute("aria-pressed", String(rating === 1));
      down.setAttribute("aria-pressed", String(rating === -1));
    } catch (err) {
      result.textContent = `Not recorded: ${(err as Error).message}`;
    }
  };
  const up = h("button", { attrs: { type: "button", id: "thumbs-up", "aria-pressed": "false" } }, "▲ Good answer");
  const down = h("button", { attrs: { type: "button", id: "thumbs-down", "aria-pressed": "false" } }, "▼ Bad answer");
  up.addEventListener("click", send(1));
  down.addEventListener("click", send(-1));
  fill(
    el,
    h("span", {}, "Was this answer useful?"),
    up,
    down,
    h("label", { class: "sr-only", attrs: { for: "feedback-comment" } }, "Comment"),
    comment,
    result,
  );
}
