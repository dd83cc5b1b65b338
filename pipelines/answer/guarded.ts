import type { AskResponse, RetrievedSource } from "../../schemas/api.js";
import { createAnswerGuard, type AnswerGuard, type AnswerGuardOptions } from "../guard/answer-guard.js";
import type { Reranker } from "../rerank/types.js";

/** The events of answerQuestion that the guard sees (ask.ts's AnswerEvents has these and more). */
export interface GuardedEvents {
  onSources?: ((sources: RetrievedSource[]) => void | Promise<void>) | undefined;
  onDelta?: ((text: string) => void) | undefined;
  onRestart?: ((reason: string) => void) | undefined;
}

/** What the guarded answer path needs: the settings of the prompt-injection and PII guard. */
export interface GuardedDeps {
  reranker: Reranker;
  /** INJECTION_MODE and PII_MASK_ANSWERS; unset: the answer is not screened (a caller's own choice). */
  guard?: AnswerGuardOptions | undefined;
}

/**
 * The events a caller hears through `guard`: streamed deltas pass its filter (links defanged, PII
 * masked when configured) and the packed sources are recorded for its report. `flush()` releases
 * what the filter still holds; call it once the answer is made.
 */
export function guardedEvents<E extends GuardedEvents>(guard: AnswerGuard, events: E): { events: E; flush(): void } {
  const deltas = guard.deltaFilter();
  const onDelta = events.onDelta;
  const relay = (text: string) => {
    if (text && onDelta) {
      onDelta(text);
    }
  };
  const onRestart = events.onRestart;
  return {
    events: {
      ...events,
      onSources: (sources: RetrievedSource[]) => {
        guard.onSources(sources);
        return events.onSources?.(sources);
      },
      onDelta: onDelta && ((text: string) => relay(deltas.push(text))),
      onRestart:
        onRestart &&
        ((reason: string) => {
          deltas.reset();
          onRestart(reason);
        }),
    },
    flush: () => relay(deltas.flush()),
  };
}

/**
 * Runs `stages` (the answer path) behind the guard of `deps.guard`: chunks are screened for
 * injected instructions between re-ranking and packing (a decorator on the reranker), deltas are
 * filtered as they stream, and the response is defanged, masked and given its `guard` report.
 * Every caller of answerQuestion (POST /ask, the answer cache, `npm run eval`) goes through it.
 */
export async function withGuard<D extends GuardedDeps, E extends GuardedEvents>(
  deps: D,
  question: string,
  events: E,
  stages: (deps: D, events: E) => Promise<AskResponse>,
): Promise<AskResponse> {
  if (!deps.guard) {
    return stages(deps, events);
  }
  const guard = createAnswerGuard(question, deps.guard);
  const guarded = guardedEvents(guard, events);
  const raw = await stages({ ...deps, reranker: guard.screen(deps.reranker) }, guarded.events);
  guarded.flush();
  return guard.finish(raw);
}

/** `deps.reranker` behind the injection screen, as the guarded answer path re-ranks. */
export function screenedReranker(deps: GuardedDeps, question: string): Reranker {
  return deps.guard ? createAnswerGuard(question, deps.guard).screen(deps.reranker) : deps.reranker;
}
