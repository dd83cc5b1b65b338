import { z } from "zod";

/** What `since` means when it is not given. */
export const DEFAULT_QUALITY_SINCE = "24h";
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
// A bound, so "since=99999999999d" is an error rather than an invalid date.
const MAX_LOOKBACK_MS = 10 * 365 * UNIT_MS.d;
const ISO = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;
const HINT =
  "an ISO 8601 time (2026-01-31 or 2026-01-31T09:00:00Z) or a duration back from now such as 30m, 24h, 7d or 2w";

/** `24h` → now minus 24 hours; `2026-01-31T09:00:00Z` → that instant; null for anything else. */
export function parseInstant(value: string, now: Date): Date | null {
  const rel = /^(\d{1,7})([mhdw])$/.exec(value);
  if (rel) {
    const ms = Number(rel[1]) * UNIT_MS[rel[2] as keyof typeof UNIT_MS];
    return ms <= MAX_LOOKBACK_MS ? new Date(now.getTime() - ms) : null;
  }
  if (!ISO.test(value)) {
    return null;
  }
  const t = Date.parse(value);
  return Number.isNaN(t) ? null : new Date(t);
}

/**
 * `?since=&until=&collection=` of GET /quality (and the CLI's flags): a window ending now and
 * starting 24 hours back unless told otherwise. Bad values fail with a message that says the forms.
 */
export function qualityQuerySchema(now: Date) {
  const instant = (name: string) =>
    z.string().transform((v, ctx) => {
      const at = parseInstant(v.trim(), now);
      if (!at) {
        ctx.addIssue({ code: "custom", message: `${name} must be ${HINT} (got ${JSON.stringify(v.slice(0, 40))})` });
      }
      return at ?? now;
    });
  return z
    .object({
      since: instant("since").default(parseInstant(DEFAULT_QUALITY_SINCE, now)!),
      until: instant("until").default(now),
      collection: z.string().trim().min(1).max(128).optional(),
    })
    .strict()
    .refine((q) => q.since.getTime() < q.until.getTime(), { message: "since must be before until", path: ["since"] });
}

/**
 * The window's parameters as the OpenAPI document shows them: qualityQuerySchema's own fields, with
 * the defaults as a client writes them (`since` 24h, `until` now) instead of the instants of one call.
 */
export function qualityWindowQuery() {
  const { shape } = qualityQuerySchema(new Date());
  return z.object({
    since: shape.since.meta({
      default: DEFAULT_QUALITY_SINCE,
      description: "Start: an ISO 8601 time, or a duration back from now (30m, 24h, 7d, 2w).",
    }),
    until: shape.until.unwrap().optional().meta({ description: "End, in the same forms; now when unset." }),
    collection: shape.collection.meta({ description: "Only queries asked of this collection." }),
  });
}
