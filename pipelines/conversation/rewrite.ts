import type { QuestionRewriter, Rewrite, Turn } from "./types.js";

// Words that stand for something said earlier. Object and possessive forms are replaced by the
// subject; demonstratives only when they end the question ("who built that?"), since before a
// noun ("that lens") they are determiners whose noun is still there.
const PRONOUN = /\b(it|its|they|them|their|he|him|his|she|her)\b/i;
const TRAILING_DEMONSTRATIVE = /\b(this|that|these|those)(\s*[?.!]*\s*)$/i;
const POSSESSIVE = new Set(["its", "their", "his", "her"]);
// A question that opens like this continues the previous one ("and the keepers?").
const CONTINUATION = /^\s*(and|also|but|so|then|what about|how about)\b[\s,]*/i;

// Not subject matter: function words, question words, and verbs a question is built around
// ("when was X installed" is about X, not about installing). Past participles go by their suffix.
const FUNCTION_WORDS = new Set(
  (
    "a an and are as at be but by for if in into is it no not of on or such that the their then there these they this " +
    "to was were will with what which who whom whose when where why how does do did can could should would i you we " +
    "he she its our your my me us them been being have has had than so also about from many much long tall old big " +
    "tell explain describe give list show make made use used work happen mean cost take get run build built know known call called"
  ).split(" "),
);
// Between two subject words these may stay ("the lens of the lighthouse"); at the ends they go.
const JOINERS = new Set(["of", "the", "a", "an", "for", "in", "on", "at", "to", "and", "de", "von", "van"]);
const MIN_STANDALONE_TERMS = 2;
const MAX_SUBJECT_WORDS = 8;

interface Word {
  text: string;
  start: number;
  end: number;
}

const words = (text: string): Word[] =>
  [...text.matchAll(/[\p{L}\p{N}][\p{L}\p{N}'’-]*/gu)].map((m) => ({
    text: m[0],
    start: m.index!,
    end: m.index! + m[0].length,
  }));

const isSubjectWord = (w: string) => {
  const lower = w.toLowerCase();
  return !FUNCTION_WORDS.has(lower) && !/^[\p{L}]+ed$/u.test(lower) && lower.length > 1;
};

/**
 * The subject of a standalone question: the longest run of subject words (function words may
 * join them inside the run), as the question wrote it, with its article. "When was the Fresnel
 * lens of the Skerryvore lighthouse installed?" gives "the Fresnel lens of the Skerryvore lighthouse".
 */
export function subjectOf(question: string): string | undefined {
  const ws = words(question);
  let best: { from: number; to: number; n: number } | undefined;
  let run: { from: number; to: number; n: number } | undefined;
  for (let i = 0; i < ws.length; i++) {
    const w = ws[i]!.text;
    if (isSubjectWord(w)) {
      run = run ? { ...run, to: i, n: run.n + 1 } : { from: i, to: i, n: 1 };
      if (!best || run.n > best.n) {
        best = { ...run };
      }
    } else if (!(run && JOINERS.has(w.toLowerCase()))) {
      run = undefined;
    }
  }
  if (!best) {
    return undefined;
  }
  const from = Math.max(best.from, best.to - MAX_SUBJECT_WORDS + 1);
  // The article the question used goes with it ("the Eiffel Tower"; "Marie Curie" had none).
  const article = from > 0 && /^(the|a|an)$/i.test(ws[from - 1]!.text) ? `${ws[from - 1]!.text.toLowerCase()} ` : "";
  return article + question.slice(ws[from]!.start, ws[best.to]!.end);
}

const capitalise = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/**
 * Rewrites one question given the standalone form of the one before it. A question that names
 * a subject of its own, and neither points back (it, they, that) nor continues ("and …"), stands
 * alone and is returned as it is.
 */
export function rewriteWithSubject(question: string, previous: string | undefined): Rewrite {
  const unchanged: Rewrite = { question, rewritten: false, method: "none" };
  const subject = previous === undefined ? undefined : subjectOf(previous);
  if (!subject) {
    return unchanged;
  }
  const own = words(question).filter((w) => isSubjectWord(w.text));
  const pointsBack = PRONOUN.test(question) || TRAILING_DEMONSTRATIVE.test(question);
  const continues = CONTINUATION.test(question);
  if (!pointsBack && !continues && own.length >= MIN_STANDALONE_TERMS) {
    return unchanged;
  }
  // Nothing to carry when the question already says every word of the subject.
  const have = new Set(own.map((w) => w.text.toLowerCase()));
  if (
    words(subject)
      .filter((w) => isSubjectWord(w.text))
      .every((w) => have.has(w.text.toLowerCase()))
  ) {
    return unchanged;
  }

  const phrase = subject;
  let text = question.replace(CONTINUATION, "").trim();
  if (PRONOUN.test(text)) {
    text = text.replace(PRONOUN, (p) => (POSSESSIVE.has(p.toLowerCase()) ? `${phrase}'s` : phrase));
  } else if (TRAILING_DEMONSTRATIVE.test(text)) {
    text = text.replace(TRAILING_DEMONSTRATIVE, (_m, _d, end: string) => `${phrase}${end}`);
  } else {
    const mark = /[?.!]+$/.exec(text)?.[0] ?? "?";
    text = `${text.replace(/[?.!]+$/, "")}, about ${phrase}${mark}`;
  }
  return { question: capitalise(text), rewritten: true, method: "terms" };
}

/**
 * The rewrite that needs no model: each earlier user turn is made standalone in order (so a
 * follow-up of a follow-up still carries the first subject), and the new question takes its
 * subject from the last of them. Assistant turns are not read: answers name many things, and the
 * user's own words say which one the conversation is about.
 */
export function rewriteFromTerms(question: string, history: readonly Turn[]): Rewrite {
  let previous: string | undefined;
  for (const turn of history) {
    if (turn.role === "user" && turn.content.trim()) {
      previous = rewriteWithSubject(turn.content.trim(), previous).question;
    }
  }
  return rewriteWithSubject(question, previous);
}

/** The deterministic rewriter, used without a chat model and when the model's rewrite fails. */
export function createTermsRewriter(): QuestionRewriter {
  return { name: "terms", rewrite: async (question, history) => rewriteFromTerms(question, history) };
}
