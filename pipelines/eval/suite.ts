import { z } from "zod";
import { EvalInputError, readJsonlFile } from "./beir.js";

/** One line of an eval suite (eval-sets/README.md). */
export const SuiteItemSchema = z
  .object({
    id: z.string().min(1).optional(),
    question: z.string().trim().min(1, "must be a non-empty question"),
    /** Document paths relative to their source root, or document ids. */
    relevant: z.array(z.string().min(1)),
    reference: z.string().min(1).optional(),
    answerable: z.boolean().default(true),
    /** Strings one of which the answer must contain (case and quote style aside): the fact itself. */
    answer_any: z.array(z.string().trim().min(1, "must not be empty")).min(1, "needs at least one string").optional(),
  })
  .strict()
  .refine((x) => !x.answerable || x.relevant.length > 0, {
    message: "an answerable question needs at least one relevant document",
    path: ["relevant"],
  })
  .refine((x) => x.answerable || x.answer_any === undefined, {
    message: "an unanswerable question cannot list answer strings",
    path: ["answer_any"],
  });
export type SuiteItem = z.infer<typeof SuiteItemSchema> & { id: string };

/** Reads a JSONL suite; every line is validated and a bad one is an error with its line number. */
export function readSuite(file: string): SuiteItem[] {
  const items = readJsonlFile(file, SuiteItemSchema).map((x, i) => ({ ...x, id: x.id ?? `q${i + 1}` }));
  if (items.length === 0) {
    throw new EvalInputError(`${file}: the suite has no questions`);
  }
  const seen = new Set<string>();
  for (const x of items) {
    if (seen.has(x.id)) {
      throw new EvalInputError(`${file}: id "${x.id}" appears twice`);
    }
    seen.add(x.id);
  }
  return items;
}
