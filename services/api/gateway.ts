import type { Context } from "hono";
import { answerQuestion, type AnswerDeps, type AnswerEvents, type AnswerInput } from "../../pipelines/answer/ask.js";
import { createAnswerCache, type AnswerCache } from "../../pipelines/cache/answer-cache.js";
import { createAnswerCacheStore } from "../../pipelines/cache/store.js";
import { billedTokens, createPriceTable, type PriceTable } from "../../pipelines/cost/prices.js";
import type { GatewaySettings } from "../common/gateway-config.js";

export type { GatewaySettings } from "../common/gateway-config.js";
import { detectInjection } from "../../pipelines/guard/injection.js";
import { scopeCollections } from "../../pipelines/store/scoped-store.js";
import { budgetDay, createSpendStore, type SpendStore } from "../../pipelines/store/spend-queries.js";
import type { AskRequest, AskResponse } from "../../schemas/api.js";
import type { CoreDeps } from "../common/deps.js";
import type { Logger } from "../common/log.js";
import type { Metrics } from "../common/metrics.js";
import type { AppEnv } from "./context.js";
import { ApiError } from "./errors.js";
import { scopeOf } from "./tenant.js";

// Exact questions only, unless ANSWER_CACHE_MIN_SIMILARITY lowers it: at 0.9 bench/cache.ts found
// 1 false hit in 34 (a paraphrase whose fresh answer cited another passage).
export const DEFAULT_CACHE_MIN_SIMILARITY = 1;

export interface Gateway {
  cache: AnswerCache | null;
  prices: PriceTable;
  spend: SpendStore;
  /** 429 budget_exceeded (with Retry-After: seconds to the UTC day's end) when the key has spent its day's budget. */
  enforceBudget(c: Context<AppEnv>, now?: Date): Promise<void>;
  /** Answers through the cache (or around it), then prices the answer and names its prompt. */
  answer(args: {
    c: Context<AppEnv>;
    req: Pick<AskRequest, "cache" | "reference" | "metrics">;
    deps: AnswerDeps;
    input: AnswerInput;
    events?: AnswerEvents;
    finish: (r: AskResponse) => AskResponse;
  }): Promise<AskResponse>;
  /** Adds the answer's spend to its key's day (shared in the database) and to the Prometheus counters. */
  account(keyId: string | null, r: AskResponse, now?: Date): Promise<void>;
}

type GatewayDeps = {
  config: GatewaySettings & { INJECTION_MODE?: string | undefined; PII_MASK_ANSWERS?: boolean | undefined };
  log: Logger;
  metrics?: Metrics | undefined;
};

// One gateway per app (its deps) and database: the price table and the cache's prune counter live
// as long as they do; the entries themselves are in the database, shared by every process.
const gateways = new WeakMap<GatewayDeps, { core: CoreDeps; gateway: Gateway }>();

export function gatewayFor(deps: GatewayDeps, core: CoreDeps): Gateway {
  const known = gateways.get(deps);
  if (known?.core === core) {
    return known.gateway;
  }
  const gateway = createGateway(deps, core);
  gateways.set(deps, { core, gateway });
  return gateway;
}

function createGateway(deps: GatewayDeps, core: CoreDeps): Gateway {
  const { config, log, metrics } = deps;
  const prices = createPriceTable(config.PRICES_FILE, config.PRICES_JSON);
  const spend = createSpendStore(core.database.db);
  const cache = config.ANSWER_CACHE
    ? createAnswerCache({
        store: createAnswerCacheStore(core.database.db),
        minSimilarity: config.ANSWER_CACHE_MIN_SIMILARITY ?? DEFAULT_CACHE_MIN_SIMILARITY,
        ttlMs: (config.ANSWER_CACHE_TTL_SECONDS ?? 86_400) * 1000,
        maxEntries: config.ANSWER_CACHE_MAX_ENTRIES ?? 10_000,
        onOutcome: (outcome) => metrics?.answerCache.inc({ outcome }),
        onError: (err) => log.warn("answer cache read or write failed; answering fresh", { err }),
      })
    : null;
  const budgetFor = async (keyId: string) => {
    const own = await spend.budgetOf(keyId);
    return {
      tokens: own.tokens ?? config.BUDGET_DAILY_TOKENS ?? null,
      usd: own.usd ?? config.BUDGET_DAILY_USD ?? null,
    };
  };

  return {
    cache,
    prices,
    spend,
    async enforceBudget(c, now = new Date()) {
      const keyId = c.var.principal.keyId;
      // Without authentication there is no one to charge: budgets are per key.
      if (!keyId) {
        return;
      }
      const budget = await budgetFor(keyId);
      if (budget.tokens === null && budget.usd === null) {
        return;
      }
      const { day, resetsAt } = budgetDay(now);
      const spent = await spend.spent(keyId, day);
      const over =
        budget.tokens !== null && spent.tokens >= budget.tokens
          ? `${spent.tokens} of ${budget.tokens} tokens`
          : budget.usd !== null && spent.usd >= budget.usd
            ? `$${spent.usd.toFixed(6)} of $${budget.usd}`
            : null;
      if (!over) {
        return;
      }
      const retryAfter = Math.max(1, Math.ceil((resetsAt.getTime() - now.getTime()) / 1000));
      c.header("Retry-After", String(retryAfter));
      throw new ApiError(
        "budget_exceeded",
        `This key has spent its daily budget (${over} on ${day} UTC); it resets at ${resetsAt.toISOString()}.`,
        {
          resetsAt: resetsAt.toISOString(),
          spent,
          budget,
        },
      );
    },

    async answer({ c, req, deps: answerDeps, input, events, finish }) {
      const { config: cfg } = deps;
      const g = answerDeps.generator;
      const promptVersion = g.promptVersion ?? "none";
      const noCache = /\bno-(cache|store)\b/i.test(c.req.header("cache-control") ?? "");
      const bypass = bypassReason(cache !== null, req, noCache);
      const scoped = scopeCollections(input.collections, scopeOf(c));
      const respond = await (cache ?? passThrough).answer({
        deps: answerDeps,
        input,
        events,
        finish,
        bypass: bypass ?? undefined,
        key: bypass
          ? null
          : {
              keyId: c.var.principal.keyId,
              collections: scoped === undefined ? null : [...scoped],
              generator: `${g.name}:${g.model ?? g.name}:${g.contextWindow}:${g.answerReserve}:${g.tokenizer.encoding}`,
              promptVersion,
              options: {
                topK: input.topK,
                maxContextTokens: input.maxContextTokens,
                compress: input.compress,
                verify: answerDeps.verify,
                denseWeight: answerDeps.denseWeight,
                documentWeight: answerDeps.documentWeight,
                candidates: answerDeps.candidates,
                reranker: answerDeps.reranker.name,
                answerability: answerDeps.answerability?.threshold,
                injectionMode: cfg.INJECTION_MODE ?? "flag",
                maskAnswers: cfg.PII_MASK_ANSWERS ?? false,
              },
            },
        // An answer to a question that looks like an injection attempt is not worth keeping.
        storable: (r) => !r.guard?.questionFlagged && !detectInjection(input.question).flagged,
      });
      const tokens = billedTokens(respond);
      const model = respond.generator.model;
      const costUsd = respond.cache?.hit ? 0 : prices.cost(model, tokens.input, tokens.output).usd;
      return {
        ...respond,
        usage: { ...respond.usage, costUsd },
        promptVersion: respond.cache?.hit ? (respond.promptVersion ?? promptVersion) : promptVersion,
      };
    },

    async account(keyId, r, now = new Date()) {
      const tokens = billedTokens(r);
      const usd = r.usage.costUsd ?? 0;
      if (metrics && !r.cache?.hit) {
        const model = r.generator.model;
        metrics.askCost.inc({ model }, usd);
        metrics.billedTokens.inc({ model, kind: "input" }, tokens.input);
        metrics.billedTokens.inc({ model, kind: "output" }, tokens.output);
      }
      if (keyId && (tokens.input + tokens.output > 0 || usd > 0)) {
        await spend.add(keyId, budgetDay(now).day, tokens.input + tokens.output, usd);
      }
    },
  };
}

// With the cache off, the same shape: answer, finish, report the bypass.
const passThrough: Pick<AnswerCache, "answer"> = {
  async answer(req) {
    const raw = await answerQuestion(req.deps, req.input, req.events);
    return {
      ...(req.finish ? req.finish(raw) : raw),
      cache: { hit: false, similarity: null, ageMs: null, bypass: req.bypass ?? "disabled" },
    };
  },
};

/**
 * Why the cache is not consulted, or null. Metrics asked for (or a reference answer, which changes
 * them) belong to one answer, and a hit carries none.
 */
function bypassReason(
  enabled: boolean,
  req: Pick<AskRequest, "cache" | "reference" | "metrics">,
  noCache: boolean,
): string | null {
  if (!enabled) {
    return "disabled";
  }
  if (req.cache === false || noCache) {
    return "request";
  }
  if (req.reference !== undefined) {
    return "reference";
  }
  if (req.metrics) {
    return "metrics";
  }
  return null;
}
