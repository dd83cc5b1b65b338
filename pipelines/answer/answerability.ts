import { logisticProbability } from "./logistic.js";
import type { ContextSource } from "../generate/types.js";
import { numbersIn } from "../verify/evidence.js";
import { cosine } from "../verify/claim-support.js";
import { splitSentences } from "../text/sentences.js";
import { contentTerms } from "../text/terms.js";
import { ANSWERABILITY_MODEL } from "./answerability-model.js";
import type { Answerability, AnswerabilityModel } from "./types.js";

/**
 * Does the best retrieved text actually answer the question? Retrieval finds a passage on the
 * question's topic nearly always (ClapNQ: its own passage at rank 1 for 93%); what separates an
 * answer from a passage that merely shares the topic is whether the question's rare terms are all
 * there, whether one sentence holds them together, and whether that sentence adds what the
 * question asks for (a year for "when", a number for "how many", a name for "who").
 * A logistic model over these features, fitted on one half of ClapNQ dev and measured on the other
 * (`npm run bench:answerability`), turns them into the probability that the question is answered.
 */
export type { Answerability, AnswerabilityModel } from "./types.js";

type Embed = (texts: string[]) => Promise<number[][]>;

const WH = /^\s*(who|whom|whose|when|where|which|what|why|how)\b/i;
const MONTHS = /\b(january|february|march|april|may|june|july|august|september|october|november|december)\b/i;
const YEAR = /\b(1\d{3}|20\d{2})s?\b/;

/** What kind of answer the question asks for, from its opening words. */
export function expectedAnswerType(question: string): "date" | "number" | "name" | "other" {
  const q = question.toLowerCase();
  if (/\b(when|what year|which year|what date|what century|how long ago)\b/.test(q)) {
    return "date";
  }
  if (/\bhow (many|much|long|old|far|tall|big|high|deep|often)\b|\bwhat (percentage|percent|number|age)\b/.test(q)) {
    return "number";
  }
  if (/^\s*(who|whom|whose|where)\b|\b(who|where) (is|was|are|were|did|does|do)\b/.test(q)) {
    return "name";
  }
  return "other";
}

/** Does `text` hold something of the asked-for type that the question itself does not? */
function hasAnswerOfType(type: ReturnType<typeof expectedAnswerType>, text: string, question: string): boolean {
  const asked = new Set(question.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []);
  const qNumbers = new Set(numbersIn(question));
  const newNumbers = numbersIn(text).filter((n) => !qNumbers.has(n));
  if (type === "date") {
    return newNumbers.some((n) => YEAR.test(n)) || MONTHS.test(text);
  }
  if (type === "number") {
    return (
      newNumbers.length > 0 ||
      /\b(one|two|three|four|five|six|seven|eight|nine|ten|twelve|hundred|thousand|million|billion|dozen)\b/i.test(text)
    );
  }
  if (type === "name") {
    const words = text.match(/[\p{L}][\p{L}\p{N}'-]*/gu) ?? [];
    return words.some((w, i) => i > 0 && /^\p{Lu}/u.test(w) && !asked.has(w.toLowerCase()));
  }
  return true;
}

// Irregular forms a suffix stemmer cannot join ("who won" / "winning the war").
const IRREGULAR: Record<string, string> = Object.fromEntries(
  (
    "won:win wins:win sang:sing sung:sing sings:sing wrote:write written:write writes:write began:begin begun:begin " +
    "became:become becomes:become came:come comes:come made:make makes:make built:build builds:build found:find " +
    "founded:found bought:buy sold:sell told:tell held:hold led:lead took:take taken:take gave:give given:give " +
    "died:die dies:die born:birth bore:birth fought:fight ran:run ate:eat fell:fall fallen:fall went:go gone:go " +
    "left:leave lost:lose met:meet paid:pay said:say saw:see seen:see sent:send spent:spend stood:stand struck:strike " +
    "taught:teach thought:think threw:throw thrown:throw wore:wear worn:wear kept:keep knew:know known:know " +
    "played:play plays:play starred:star stars:star portrayed:portray portrays:portray voiced:voice voices:voice"
  )
    .split(" ")
    .map((pair) => pair.split(":") as [string, string]),
);
const terms = (text: string) => contentTerms(text).map((t) => IRREGULAR[t] ?? t);

interface Unit {
  text: string;
  terms: Set<string>;
  source: number;
}

/**
 * The features the model reads, computed from the question and the packed sources in rank order.
 * One embedding call (question, best sentence, top source). IDF is over the sentences of the
 * packed sources, so a question term that no source has weighs most.
 */
export async function answerabilityFeatures(
  question: string,
  sources: ContextSource[],
  embed?: Embed,
): Promise<Record<string, number>> {
  const qTerms = [...new Set(terms(question))];
  const sentences: Unit[] = sources.flatMap((s, si) =>
    splitSentences(s.text).map((span) => {
      const text = s.text.slice(span.start, span.end).replace(/\s+/g, " ");
      return { text, terms: new Set(terms(text)), source: si };
    }),
  );
  const n = Math.max(1, sentences.length);
  const idf = new Map(
    qTerms.map((t) => {
      const df = sentences.filter((u) => u.terms.has(t)).length;
      return [t, Math.log(1 + (n + 1) / (df + 0.5))];
    }),
  );
  const maxIdf = Math.log(1 + (n + 1) / 0.5);
  const total = [...idf.values()].reduce((a, b) => a + b, 0) || 1;
  const coverage = (terms: Set<string>) => qTerms.reduce((s, t) => s + (terms.has(t) ? idf.get(t)! : 0), 0) / total;

  let best: Unit | undefined;
  let bestCov = 0;
  let secondCov = 0;
  for (const u of sentences) {
    const c = coverage(u.terms);
    if (c > bestCov) {
      [secondCov, bestCov, best] = [bestCov, c, u];
    } else if (c > secondCov) {
      secondCov = c;
    }
  }
  // Two neighbouring sentences of one source: a pronoun often carries the subject across.
  let windowCov = bestCov;
  for (let i = 1; i < sentences.length; i++) {
    const [a, b] = [sentences[i - 1]!, sentences[i]!];
    if (a.source === b.source) {
      windowCov = Math.max(windowCov, coverage(new Set([...a.terms, ...b.terms])));
    }
  }
  const top = sources[0];
  const topTerms = new Set(terms(top?.text ?? ""));
  // The question's relation: its terms beyond the topic the top source is titled by. A passage on
  // the right topic that lacks the relation ("who won", "when does it air") does not answer.
  const titleTerms = new Set(terms(top?.hit.headingPath.join(" ") ?? ""));
  const relation = qTerms.filter((t) => !titleTerms.has(t));
  const relTotal = relation.reduce((s, t) => s + idf.get(t)!, 0);
  const relCoverage = (ts: Set<string>) =>
    relTotal ? relation.reduce((s, t) => s + (ts.has(t) ? idf.get(t)! : 0), 0) / relTotal : 1;
  const relBest = sentences.reduce((m, u) => Math.max(m, relCoverage(u.terms)), 0);
  const allTerms = new Set(sentences.flatMap((u) => [...u.terms]));
  const missingTop = qTerms.filter((t) => !topTerms.has(t));
  const maxMissingIdf = missingTop.reduce((m, t) => Math.max(m, idf.get(t)!), 0) / maxIdf;
  const qNumbers = numbersIn(question);
  const topNumbers = new Set(numbersIn(top?.text ?? ""));
  const type = expectedAnswerType(question);
  const novel = best ? [...best.terms].filter((t) => !qTerms.includes(t)).length / Math.max(1, best.terms.size) : 0;

  let cosBest = 0;
  let cosTop = 0;
  if (embed && best && top) {
    // Three texts, one call. The best of a few more sentences by embedding was tried: it added
    // nothing the model used (weight -0.13) for four more texts (~80 ms with USE-Lite) a question.
    const [q, b, t] = await embed([question, best.text, top.text]);
    cosBest = cosine(q!, b!);
    cosTop = cosine(q!, t!);
  }
  const scores = sources.map((s) => s.hit.score);
  return {
    covBest: bestCov,
    covSecond: secondCov,
    covWindow: windowCov,
    covTop: coverage(topTerms),
    covAll: coverage(allTerms),
    covTitle: coverage(titleTerms),
    relShare: qTerms.length ? relation.length / qTerms.length : 0,
    relBest,
    relTop: relCoverage(topTerms),
    maxMissingIdf,
    missingNumber: qNumbers.some((x) => !topNumbers.has(x)) ? 1 : 0,
    novelty: novel,
    expectsType: type === "other" ? 0 : 1,
    typeFound: type === "other" ? 0 : best && hasAnswerOfType(type, best.text, question) ? 1 : 0,
    typeFoundTop: type === "other" ? 0 : top && hasAnswerOfType(type, top.text, question) ? 1 : 0,
    wh: WH.test(question) ? 1 : 0,
    questionTerms: Math.log(1 + qTerms.length),
    cosBest,
    cosTop,
    topScore: scores[0] ?? 0,
    margin: (scores[0] ?? 0) - (scores[1] ?? 0),
  };
}

/** The model's probability for a feature vector. */
export function answerabilityScore(
  features: Record<string, number>,
  model: AnswerabilityModel = ANSWERABILITY_MODEL,
): number {
  return logisticProbability(features, model);
}

export async function judgeAnswerability(
  question: string,
  sources: ContextSource[],
  embed?: Embed,
  model: AnswerabilityModel = ANSWERABILITY_MODEL,
): Promise<Answerability> {
  const features = await answerabilityFeatures(question, sources, embed);
  return { score: answerabilityScore(features, model), features };
}
