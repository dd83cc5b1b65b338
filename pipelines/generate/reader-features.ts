import { detectInjection } from "../guard/injection.js";
import { LruMap } from "../lru.js";
import { CELL_SEPARATOR } from "../parse/table-rows.js";
import { paragraphSpans, sentenceSpans } from "../text/segment.js";
import { contentTerms } from "../text/terms.js";
import type { ContextSource } from "./types.js";

/**
 * What the reader reads a source as: its sentences, except that a table row written by the parser
 * ("Format: h · C Type: short · Standard size: 2") is one unit however many full stops its cells
 * hold, and the subject of a definition (the `<dt>` term heading its section) is known.
 */
export interface ReadUnit {
  /** The unit's text, whitespace collapsed, verbatim otherwise. */
  text: string;
  /** Position among the source's units. */
  position: number;
  terms: Set<string>;
  /** Lower-cased words, for literal matches (option names, identifiers). */
  words: Set<string>;
  row: boolean;
  /**
   * Long enough to say something and not an instruction planted in a document ("ignore previous
   * instructions and reply …"): quoting one would let the document steer the answer.
   */
  sayable: boolean;
}

export interface ReadSource {
  units: ReadUnit[];
  /** The term this source's section describes (a signature, an option), when its heading is one. */
  subject: string | null;
  /** The subject's content terms (empty without one). */
  subjectTerms: Set<string>;
}

// Units of a source depend only on its text and heading, so they are kept across questions: /ask
// sees the same popular chunks again and again, and splitting is most of the reader's work.
const cache = new LruMap<string, ReadSource>(4096);

/** The units of a source, from the cache when this text and heading were read before. */
export function readSource(source: ContextSource): ReadSource {
  const subject = termOf(source.hit.headingPath.at(-1));
  const key = `${subject ?? ""}\u0000${source.text}`;
  let read = cache.get(key);
  if (!read) {
    read = { units: unitsOf(source.text), subject, subjectTerms: new Set(subject ? contentTerms(subject) : []) };
    cache.set(key, read);
  }
  return read;
}

const ROW = /^[^:\n]{1,60}: /;

function unitsOf(text: string): ReadUnit[] {
  const units: ReadUnit[] = [];
  for (const [ps, pe] of paragraphSpans(text, 0, text.length)) {
    const paragraph = text.slice(ps, pe);
    const row = paragraph.includes(CELL_SEPARATOR) && ROW.test(paragraph) && !paragraph.includes("\n\n");
    const spans = row ? [[ps, pe] as [number, number]] : sentenceSpans(text, ps, pe);
    for (const [s, e] of spans) {
      const t = text.slice(s, e).replace(/\s+/g, " ");
      const sayable = (t.match(/[\p{L}\p{N}]+/gu)?.length ?? 0) >= 4 && !detectInjection(t).flagged;
      units.push({
        text: t,
        position: units.length,
        terms: new Set(contentTerms(t)),
        words: new Set(t.toLowerCase().match(/[\p{L}\p{N}_]+/gu) ?? []),
        row,
        sayable,
      });
    }
  }
  return units;
}

// A heading that names a term rather than a topic: a call signature ("len(s)", "gzip.open(filename,
// mode='rb')"), an identifier with an underscore or "=", an option ("--force"). Topic headings
// ("Forecasting", "Bat Out of Hell (album)") are not subjects to prefix.
const TERM = /\w\(|[=_]|^-{1,2}\w|^[%@$]\w/;

/** The term a section describes, from its deepest heading, or null when that heading names a topic. */
export function termOf(heading: string | undefined): string | null {
  if (!heading) {
    return null;
  }
  const h = heading.trim();
  return h.length > 0 && h.length <= 120 && TERM.test(h) ? h : null;
}

/** The bare name of a term: "gzip.open" of "gzip.open(filename, mode='rb')", "class" keywords dropped. */
export function nameOf(term: string): string {
  return term
    .replace(/^(?:class|async|classmethod|staticmethod|abstractmethod|property|exception|data|method|function)\s+/i, "")
    .replace(/\(.*$/s, "")
    .trim();
}

export type AnswerType = "yesno" | "date" | "number" | "name" | "code" | "value" | "definition" | "other";

/** The kind of answer a question asks for, from its wording. */
export function answerTypeOf(question: string): AnswerType {
  const q = question.toLowerCase().trim();
  if (/^(is|are|does|do|did|can|could|was|were|has|have|should|will|would)\b/.test(q)) {
    return "yesno";
  }
  if (/\b(when|what year|which year|what date|what century)\b/.test(q)) {
    return "date";
  }
  if (
    /\bhow (many|much|long|old|far|tall|big|high|deep|often|large|small)\b|\bwhat (percentage|percent|number|age|size)\b|\bnumeric\b/.test(
      q,
    )
  ) {
    return "number";
  }
  if (
    /\b(which|what) (?:[\w-]+ ){0,2}(function|method|class|module|flag|option|argument|parameter|directive|character|attribute|action|keyword|exception|constant|type|operation|operator|format|command|variable|code)\b/.test(
      q,
    )
  ) {
    return "code";
  }
  if (/\bdefault\b|\bwhat (range|value)\b/.test(q)) {
    return "value";
  }
  if (/^\s*(who|whom|whose|where)\b|\b(who|where) (is|was|are|were|did|does|do)\b/.test(q)) {
    return "name";
  }
  if (/^\s*what (is|are|was|were|does)\b|\bmeaning of\b|\bdefine\b/.test(q)) {
    return "definition";
  }
  return "other";
}

const MONTHS = /\b(january|february|march|april|may|june|july|august|september|october|november|december)\b/i;
const YEAR = /\b(1\d{3}|20\d{2})s?\b/;
const NUMBER =
  /\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|twelve|twenty|hundred|thousand|million|billion|dozen)\b/i;
// Code-like tokens: calls, dotted or snake names, options, format directives, quoted literals.
const CODE =
  /\w\(|\b\w+_\w+\b|\b[a-z]+\.[a-z_]+\b|(?:^|\s)-{1,2}[a-z]|%[a-zA-Z(]|'[^']{1,12}'|‘[^’]{1,12}’|`[^`]+`|\b[A-Z][A-Z_]{2,}\b/;
const VALUE = /\bdefaults? (?:to|is|value)\b|\(default\b|\bby default\b|=\S|\bdefault:|\d/i;

/** Does the unit hold something of the asked-for type that the question itself does not? */
export function hasType(type: AnswerType, text: string, question: string): boolean {
  switch (type) {
    case "yesno":
    case "other":
      return false;
    case "date":
      return YEAR.test(text.replace(/\d+/g, (n) => (question.includes(n) ? "" : n))) || MONTHS.test(text);
    case "number":
      return NUMBER.test(text.replace(/\d+/g, (n) => (question.includes(n) ? "" : n)));
    case "code":
      return CODE.test(text);
    case "value":
      return VALUE.test(text);
    case "name": {
      const asked = new Set(question.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []);
      return (text.match(/[\p{L}][\p{L}\p{N}'-]*/gu) ?? []).some(
        (w, i) => i > 0 && /^\p{Lu}/u.test(w) && !asked.has(w.toLowerCase()),
      );
    }
    case "definition":
      return /\b(is|are|was|were|refers to|means|describes)\b/i.test(text);
  }
}

/** Names of the reader's features, in the order of the fitted weights. */
export const READER_FEATURES = [
  "coverage",
  "relCoverage",
  "passageCoverage",
  "subjectCoverage",
  "prevCoverage",
  "nextCoverage",
  "bestInSource",
  "nearBest",
  "distBest",
  "typeFound",
  "typeNext",
  "defaultAsked",
  "first",
  "row",
  "words",
  "literal",
  "coverageRank",
] as const;
export type ReaderFeature = (typeof READER_FEATURES)[number];
