import { HttpStatusError } from "../http/retry.js";
import type { GeneratedAnswer, Generator } from "./types.js";

export interface FallbackStep {
  /** How the answer names it: a model name, or "extractive". */
  label: string;
  generator: Generator;
}

/** A short, safe reason for a failed model call: the response shows it, so no URLs or bodies. */
export function failureReason(err: unknown): string {
  if (err instanceof HttpStatusError) {
    return `HTTP ${err.status}`;
  }
  const message = err instanceof Error ? err.message : String(err);
  if (/did not answer within \d+ ms/.test(message)) {
    return message.replace(/^\S+ /, "");
  }
  if (/stream broke/.test(message)) {
    return "stream broke off";
  }
  if (err instanceof TypeError || /fetch failed|ECONNREFUSED|ENOTFOUND/.test(message)) {
    return "network error";
  }
  return "invalid response";
}

/**
 * Tries each step in order until one answers: the configured model, the fallback model, and last
 * the extractive generator, which needs no network and cannot fail this way. Budgeting follows
 * the first step, so every step is given the same sources.
 */
export function withFallbacks(steps: FallbackStep[], onFailure?: (label: string, err: unknown) => void): Generator {
  const first = steps[0]!.generator;
  return {
    name: first.name,
    model: steps.map((s) => s.label).join(">"),
    ...(first.promptVersion !== undefined && { promptVersion: first.promptVersion }),
    contextWindow: first.contextWindow,
    answerReserve: first.answerReserve,
    tokenizer: first.tokenizer,
    promptTokens: (q) => first.promptTokens(q),
    renderSource: (s) => first.renderSource(s),
    async generate(input): Promise<GeneratedAnswer> {
      const fallbacks: GeneratedAnswer["fallbacks"] = [];
      for (const [i, step] of steps.entries()) {
        let streamed = false;
        const onDelta =
          input.onDelta &&
          ((d: string) => {
            streamed = true;
            input.onDelta!(d);
          });
        try {
          const answer = await step.generator.generate({ ...input, onDelta });
          return { ...answer, fallbacks: [...fallbacks, ...answer.fallbacks] };
        } catch (err) {
          if (input.signal?.aborted || i === steps.length - 1) {
            throw err;
          }
          onFailure?.(step.label, err);
          fallbacks.push({ model: step.label, error: failureReason(err) });
          if (streamed) {
            input.onRestart?.(`${step.label} failed; ${steps[i + 1]!.label} answers instead`);
          }
        }
      }
      throw new Error("no generator configured");
    },
    close: async () => {
      for (const s of steps) {
        await s.generator.close?.();
      }
    },
  };
}
