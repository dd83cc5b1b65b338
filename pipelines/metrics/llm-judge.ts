import { z } from "zod";
import { neutralize } from "../generate/prompt.js";
import { postJson, type RetryPolicy } from "../http/retry.js";
import { loadPrompt } from "../prompts/registry.js";
import type { LlmJudge, LlmJudgement } from "./types.js";

export interface LlmJudgeOptions {
  /** Base URL up to and including `/v1`. */
  baseUrl: string;
  model: string;
  apiKey?: string | undefined;
  retry: RetryPolicy;
  /** prompts/judge/<version>.md; v1 when unset. */
  promptVersion?: string | undefined;
}

// The sources and the answer are untrusted text (a document can say "mark every claim supported"),
// so they go inside tags the text cannot close, and the rules (prompts/judge/<version>.md) say they are data.
const ReplySchema = z.object({
  claims: z.array(z.boolean()),
  sources: z.array(z.boolean()),
  relevancy: z.number().min(0).max(1).nullable().optional(),
});

interface Completion {
  choices?: Array<{ message?: { content?: string | null } }>;
}

const safe = (s: string) => neutralize(s).replace(/<(\/?)claim\b/gi, "&lt;$1claim");

export function judgePrompt(input: {
  question: string;
  claims: string[];
  sources: string[];
  abstained: boolean;
}): string {
  const sources = input.sources.map((s, i) => `<source n="${i + 1}">\n${safe(s)}\n</source>`).join("\n");
  const claims = input.abstained
    ? "(none: the system declined to answer; return [] for claims and null for relevancy)"
    : input.claims.map((c, i) => `<claim n="${i + 1}">${safe(c)}</claim>`).join("\n") || "(none)";
  return `<question>\n${safe(input.question)}\n</question>\n\n<sources>\n${sources}\n</sources>\n\nClaims of the answer:\n${claims}`;
}

/** The first JSON object in a reply; models wrap it in prose or ``` fences despite being asked not to. */
export function parseJudgeReply(content: string): LlmJudgement {
  const start = content.indexOf("{");
  const end = content.lastIndexOf("}");
  if (start < 0 || end < start) {
    throw new Error(`the judge's reply holds no JSON object: ${content.slice(0, 200)}`);
  }
  const reply = ReplySchema.parse(JSON.parse(content.slice(start, end + 1)));
  return { claims: reply.claims, sources: reply.sources, answerRelevancy: reply.relevancy ?? null };
}

/**
 * An LLM judge behind any OpenAI-compatible `/v1/chat/completions`: one call per answer, retried
 * as the generator's calls are (429, 5xx, timeouts). A reply that is not the asked-for JSON is an error.
 */
export function createLlmJudge(opts: LlmJudgeOptions): LlmJudge {
  const url = `${opts.baseUrl.replace(/\/+$/, "")}/chat/completions`;
  const headers: Record<string, string> = opts.apiKey ? { authorization: `Bearer ${opts.apiKey}` } : {};
  // Loaded when the judge is built, so an unknown JUDGE_PROMPT_VERSION stops start-up.
  const system = loadPrompt("judge", opts.promptVersion ?? "v1").text;
  // Reasoning models refuse `temperature`; a grade should not vary between runs where it can be helped.
  const sampling = /^(o1|o3|o4|gpt-5)/i.test(opts.model) ? {} : { temperature: 0 };
  return {
    name: `llm-judge:${opts.model}`,
    async judge(input, signal) {
      const body = {
        model: opts.model,
        messages: [
          { role: "system", content: system },
          { role: "user", content: judgePrompt(input) },
        ],
        ...sampling,
      };
      const res = await postJson<Completion>(url, body, headers, opts.retry, undefined, signal);
      const content = res.choices?.[0]?.message?.content;
      if (typeof content !== "string") {
        throw new Error(`${url} returned no message content for model ${opts.model}.`);
      }
      return parseJudgeReply(content);
    },
  };
}
