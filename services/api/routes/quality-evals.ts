import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { defineRoute, errors, GUARDED_ERRORS, json, type RouteHandler, STARTING_ERRORS } from "../contract.js";

/** What the Quality page shows of one report; the .md beside it has the full tables. */
export interface EvalReportSummary {
  file: string;
  kind: string | null;
  name: string | null;
  date: string | null;
  commit: string | null;
  settings: Record<string, unknown>;
  figures: Record<string, number>;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown) => (typeof v === "string" ? v : null);

const EvalReportsSchema = z.object({
  reports: z.array(
    z.object({
      file: z.string(),
      kind: z.string().nullable(),
      name: z.string().nullable(),
      date: z.string().nullable(),
      commit: z.string().nullable(),
      settings: z.record(z.string(), z.unknown()),
      figures: z.record(z.string(), z.number()),
    }),
  ),
  unreadable: z.array(z.object({ file: z.string(), reason: z.string() })),
});

const route = createRoute({
  method: "get",
  path: "/",
  summary: "The reports npm run eval wrote (EVAL_REPORTS_DIR), newest first, with their headline figures",
  responses: {
    200: json("The reports", EvalReportsSchema, {
      reports: [
        {
          file: "clapnq-2026-01-30.json",
          kind: "answer",
          name: "clapnq",
          date: "2026-01-30T10:00:00.000Z",
          commit: "0d89204",
          settings: { topK: 8 },
          figures: { answeredAtAbstain90: 0.61, faithfulness: 0.93 },
        },
      ],
      unreadable: [],
    }),
    ...errors({ ...STARTING_ERRORS, ...GUARDED_ERRORS }),
  },
});

/**
 * GET /quality/evals: the reports `npm run eval` wrote (EVAL_REPORTS_DIR, default ./eval-reports),
 * newest first: name, kind, date, commit, settings and headline figures. A folder that does not
 * exist is an empty list; a file that is not a report is listed under `unreadable`, not an error.
 */
const listEvalReports: RouteHandler = async (c) => {
  const dir = c.var.deps.config.EVAL_REPORTS_DIR ?? "./eval-reports";
  const names = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT" || err.code === "ENOTDIR") {
      return [] as string[];
    }
    throw err;
  });
  const reports: EvalReportSummary[] = [];
  const unreadable: Array<{ file: string; reason: string }> = [];
  for (const file of names.filter((n) => n.endsWith(".json")).sort()) {
    try {
      const raw: unknown = JSON.parse(await readFile(join(dir, file), "utf8"));
      if (!isRecord(raw) || !isRecord(raw.figures)) {
        throw new Error("no figures object");
      }
      const figures = Object.fromEntries(
        Object.entries(raw.figures).filter((e): e is [string, number] => typeof e[1] === "number"),
      );
      reports.push({
        file,
        kind: str(raw.kind),
        name: str(raw.name),
        date: str(raw.date),
        commit: str(raw.commit),
        settings: isRecord(raw.settings) ? raw.settings : {},
        figures,
      });
    } catch (err) {
      unreadable.push({ file, reason: (err as Error).message });
    }
  }
  reports.sort((a, b) => (b.date ?? "").localeCompare(a.date ?? ""));
  return c.json({ reports, unreadable });
};

export const qualityEvalsRoute = defineRoute(route, listEvalReports);
