import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { z } from "zod";
import type { Qrels } from "./metrics.js";

/** A BEIR folder that cannot be read; the message names the file and line. */
export class EvalInputError extends Error {
  override name = "EvalInputError";
}

export interface BeirDocument {
  id: string;
  title: string;
  text: string;
}

export interface BeirDataset {
  /** The folder's name (`scifact`), used to name data directories and reports. */
  name: string;
  folder: string;
  corpus: BeirDocument[];
  queries: Map<string, string>;
}

const CorpusLine = z.object({
  _id: z.union([z.string(), z.number()]).transform(String),
  title: z.string().default(""),
  text: z.string(),
});
const QueryLine = z.object({ _id: z.union([z.string(), z.number()]).transform(String), text: z.string() });

/** Reads `corpus.jsonl` and `queries.jsonl` of a BEIR folder. */
export function readBeir(folder: string): BeirDataset {
  const dir = resolve(folder);
  const corpus = readJsonlFile(join(dir, "corpus.jsonl"), CorpusLine).map((d) => ({
    id: d._id,
    title: d.title,
    text: d.text,
  }));
  const queries = new Map(readJsonlFile(join(dir, "queries.jsonl"), QueryLine).map((q) => [q._id, q.text]));
  return { name: basename(dir), folder: dir, corpus, queries };
}

/**
 * `qrels/<split>.tsv`: `query-id  corpus-id  score`, tab-separated, a header row, CRLF or LF line
 * endings (BEIR's own files have both). Grades of 0 are kept: they are judged non-relevant.
 */
export function readQrels(folder: string, split: string): Qrels {
  if (!/^[\w.-]+$/.test(split)) {
    throw new EvalInputError(`--split must be a plain name such as test or train, got "${split}"`);
  }
  const file = join(resolve(folder), "qrels", `${split}.tsv`);
  const lines = readText(file).split(/\r?\n/);
  const qrels: Qrels = new Map();
  lines.forEach((line, i) => {
    if (line.trim() === "") {
      return;
    }
    const fields = line.split("\t");
    // The header row ("query-id corpus-id score") is the one whose score is not a number.
    if (i === 0 && !/^-?\d+$/.test((fields[2] ?? "").trim())) {
      return;
    }
    const [q, d, s] = fields.map((f) => f.trim());
    if (fields.length < 3 || !q || !d || !/^-?\d+$/.test(s ?? "")) {
      throw new EvalInputError(
        `${file}:${i + 1}: expected "query-id<TAB>corpus-id<TAB>score", got ${JSON.stringify(line.slice(0, 120))}`,
      );
    }
    if (!qrels.has(q)) {
      qrels.set(q, new Map());
    }
    qrels.get(q)!.set(d, Number(s));
  });
  if (qrels.size === 0) {
    throw new EvalInputError(`${file}: no judgements`);
  }
  return qrels;
}

/** What identifies a corpus's content: any change of an id, title or text changes it. */
export function corpusHash(corpus: readonly BeirDocument[]): string {
  const h = createHash("sha256");
  for (const d of corpus) {
    h.update(`${d.id}\u0000${d.title}\u0000${d.text}\u0001`);
  }
  return h.digest("hex");
}

/** The Markdown a BEIR document is indexed as: its title as a heading, then its text. */
export const beirMarkdown = (d: BeirDocument) =>
  d.title.trim() ? `# ${d.title.trim()}\n\n${d.text}\n` : `${d.text}\n`;

function readText(file: string): string {
  if (!existsSync(file)) {
    throw new EvalInputError(
      `${file} does not exist (a BEIR folder has corpus.jsonl, queries.jsonl and qrels/<split>.tsv)`,
    );
  }
  return readFileSync(file, "utf8");
}

/** JSONL with one schema; a bad line is an error naming the file and the line number. */
export function readJsonlFile<S extends z.ZodType>(file: string, schema: S): Array<z.infer<S>> {
  const out: Array<z.infer<S>> = [];
  readText(file)
    .split(/\r?\n/)
    .forEach((line, i) => {
      if (line.trim() === "") {
        return;
      }
      let json: unknown;
      try {
        json = JSON.parse(line);
      } catch (err) {
        throw new EvalInputError(`${file}:${i + 1}: not valid JSON (${(err as Error).message})`);
      }
      const parsed = schema.safeParse(json);
      if (!parsed.success) {
        const why = parsed.error.issues.map((x) => `${x.path.join(".") || "(line)"}: ${x.message}`).join("; ");
        throw new EvalInputError(`${file}:${i + 1}: ${why}`);
      }
      out.push(parsed.data);
    });
  return out;
}
