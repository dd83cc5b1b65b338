import { porterStem } from "./porter.js";

/**
 * Lucene's `EnglishAnalyzer.ENGLISH_STOP_WORDS_SET`, the list Anserini's default analyzer uses.
 * Small on purpose: "not" and "no" stay out of queries, but words such as "between" or "what"
 * are kept, as Lucene keeps them.
 */
export const ENGLISH_STOP_WORDS: ReadonlySet<string> = new Set(
  (
    "a an and are as at be but by for if in into is it no not of on or such that the their then there " +
    "these they this to was will with"
  ).split(" "),
);

// StandardTokenizer cuts tokens longer than this into pieces of this length.
const MAX_TOKEN_LENGTH = 255;

/**
 * Anserini's `DefaultEnglishAnalyzer`, the analyzer behind its BM25 figures: StandardTokenizer
 * (Unicode word boundaries), English possessive removal, lower-casing, Lucene's English stop words,
 * Porter stemming. Documents and queries go through the same function.
 *
 * @example analyze("The U.S. patients' relational databases") → ["u.", "patient", "relat", "databas"]
 */
export function analyze(text: string): string[] {
  const out: string[] = [];
  for (const token of tokenize(text)) {
    const term = lowerCase(stripPossessive(token));
    if (ENGLISH_STOP_WORDS.has(term)) {
      continue;
    }
    out.push(stem(term));
  }
  return out;
}

/** How often each term occurs, in first-seen order. */
export function termCounts(terms: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const t of terms) {
    counts.set(t, (counts.get(t) ?? 0) + 1);
  }
  return counts;
}

// A corpus has a few tens of thousands of distinct words; stemming each once is most of the saving.
const stemCache = new Map<string, string>();
function stem(term: string): string {
  let s = stemCache.get(term);
  if (s === undefined) {
    s = porterStem(term);
    if (stemCache.size >= 200_000) {
      stemCache.clear();
    }
    stemCache.set(term, s);
  }
  return s;
}

/** EnglishPossessiveFilter: a trailing 's (or ’s, ＇s) goes, before lower-casing. */
function stripPossessive(token: string): string {
  const n = token.length;
  if (n < 2) {
    return token;
  }
  const q = token.charCodeAt(n - 2);
  const s = token.charCodeAt(n - 1);
  return (q === 0x27 || q === 0x2019 || q === 0xff07) && (s === 0x73 || s === 0x53) ? token.slice(0, n - 2) : token;
}

/** Java's Character.toLowerCase, one code point at a time (no context rules such as final sigma). */
function isAscii(token: string): boolean {
  for (let i = 0; i < token.length; i++) {
    if (token.charCodeAt(i) > 0x7f) {
      return false;
    }
  }
  return true;
}

function lowerCase(token: string): string {
  if (isAscii(token)) {
    return token.toLowerCase();
  }
  let out = "";
  for (const ch of token) {
    const lower = ch.toLowerCase();
    // Java maps İ to a plain i; JavaScript adds a combining dot. Keep one code point, as Java does.
    out += lower.length === ch.length ? lower : String.fromCodePoint(lower.codePointAt(0)!);
  }
  return out;
}

/** Word-break classes of Unicode UAX #29, as far as StandardTokenizer distinguishes them. */
enum C {
  Other,
  Letter,
  Hebrew,
  Numeric,
  Katakana,
  ExtendNumLet,
  MidLetter,
  MidNumLet,
  MidNum,
  SingleQuote,
  DoubleQuote,
  Extend,
  Han,
  Hiragana,
  SouthEastAsian,
  Emoji,
}

const ASCII: C[] = Array.from({ length: 128 }, (_, i) => {
  const ch = String.fromCharCode(i);
  if (/[A-Za-z]/.test(ch)) {
    return C.Letter;
  }
  if (/[0-9]/.test(ch)) {
    return C.Numeric;
  }
  if (ch === "_") {
    return C.ExtendNumLet;
  }
  if (ch === ":") {
    return C.MidLetter;
  }
  if (ch === ".") {
    return C.MidNumLet;
  }
  if (ch === "," || ch === ";") {
    return C.MidNum;
  }
  if (ch === "'") {
    return C.SingleQuote;
  }
  if (ch === '"') {
    return C.DoubleQuote;
  }
  return C.Other;
});

const MID_LETTER = new Set([0xb7, 0x387, 0x5f4, 0x2027, 0xfe13, 0xfe55, 0xff1a]);
const MID_NUM_LET = new Set([0x2018, 0x2019, 0x2024, 0xfe52, 0xff07, 0xff0e]);
const MID_NUM = new Set([
  0x37e, 0x589, 0x60c, 0x60d, 0x66c, 0x7f8, 0x2044, 0xfe10, 0xfe14, 0xfe50, 0xfe54, 0xff0c, 0xff1b,
]);
const EXTEND_NUM_LET = new Set([0x202f, 0x203f, 0x2040, 0x2054, 0xfe33, 0xfe34, 0xfe4d, 0xfe4e, 0xfe4f, 0xff3f]);
const SOUTH_EAST_ASIAN =
  /^[\p{Script=Thai}\p{Script=Lao}\p{Script=Myanmar}\p{Script=Khmer}\p{Script=Tai_Le}\p{Script=New_Tai_Lue}\p{Script=Tai_Tham}\p{Script=Tai_Viet}\p{Script=Ahom}]$/u;
const KATAKANA = /^[\p{Script=Katakana}\u3031-\u3035\u309b\u309c\u30a0\u30fc\uff70]$/u;
// ALetter's few non-alphabetic members: modifier symbols that behave as letters.
const LETTER_EXTRA =
  /^[\u02c2-\u02c5\u02d2-\u02d7\u02de\u02df\u02e5-\u02eb\u02ed\u02ef-\u02ff\u05f3\ua720\ua721\ua789\ua78a]$/u;

const classCache = new Map<number, C>();
function classify(cp: number): C {
  if (cp < 128) {
    return ASCII[cp]!;
  }
  let c = classCache.get(cp);
  if (c === undefined) {
    c = classifyUnicode(cp);
    classCache.set(cp, c);
  }
  return c;
}

function classifyUnicode(cp: number): C {
  const ch = String.fromCodePoint(cp);
  if (MID_LETTER.has(cp)) {
    return C.MidLetter;
  }
  if (MID_NUM_LET.has(cp)) {
    return C.MidNumLet;
  }
  if (MID_NUM.has(cp)) {
    return C.MidNum;
  }
  if (EXTEND_NUM_LET.has(cp)) {
    return C.ExtendNumLet;
  }
  if (SOUTH_EAST_ASIAN.test(ch) && /[\p{L}\p{M}]/u.test(ch)) {
    return C.SouthEastAsian;
  }
  // Zero-width space separates words; other format characters (soft hyphen, joiners) do not.
  if (cp !== 0x200b && /[\p{M}\p{Cf}]/u.test(ch)) {
    return C.Extend;
  }
  if (/\p{Script=Han}/u.test(ch)) {
    return C.Han;
  }
  if (/\p{Script=Hiragana}/u.test(ch)) {
    return C.Hiragana;
  }
  if (KATAKANA.test(ch)) {
    return C.Katakana;
  }
  if (/\p{Nd}/u.test(ch)) {
    return C.Numeric;
  }
  if (/\p{Script=Hebrew}/u.test(ch) && /\p{L}/u.test(ch)) {
    return C.Hebrew;
  }
  if (/\p{Alphabetic}/u.test(ch) || LETTER_EXTRA.test(ch)) {
    return C.Letter;
  }
  if (/\p{Extended_Pictographic}/u.test(ch)) {
    return C.Emoji;
  }
  return C.Other;
}

interface Unit {
  start: number;
  end: number;
  cls: C;
  /** The unit ends in a zero-width joiner (emoji sequences continue across it). */
  zwj: boolean;
}

/** Code points grouped with their trailing combining marks and format characters (UAX #29 WB4). */
function units(text: string): Unit[] {
  const out: Unit[] = [];
  let i = 0;
  while (i < text.length) {
    const cp = text.codePointAt(i)!;
    const start = i;
    const cls = classify(cp);
    i += cp > 0xffff ? 2 : 1;
    let zwj = false;
    if (cls !== C.Other || !isLineBreak(cp)) {
      while (i < text.length) {
        const next = text.codePointAt(i)!;
        if (classify(next) !== C.Extend) {
          break;
        }
        zwj = next === 0x200d;
        i += next > 0xffff ? 2 : 1;
      }
    }
    out.push({ start, end: i, cls: cls === C.Extend ? C.Other : cls, zwj });
  }
  return out;
}

const isLineBreak = (cp: number) =>
  cp === 0x0a || cp === 0x0d || cp === 0x0b || cp === 0x0c || cp === 0x85 || cp === 0x2028 || cp === 0x2029;

const isAHLetter = (c: C | undefined) => c === C.Letter || c === C.Hebrew;
const isWordCore = (c: C | undefined) => isAHLetter(c) || c === C.Numeric || c === C.Katakana;

/**
 * Lucene's StandardTokenizer: the word boundaries of Unicode UAX #29 (letters, digits and the
 * punctuation allowed inside words, so "U.S", "3.14", "1,000", "don't" and "foo_bar" are single
 * tokens, "IL-6" is two), keeping only segments with letters or digits; each CJK ideograph and
 * hiragana character is a token of its own, runs of Thai, Lao, Khmer or Myanmar are kept whole,
 * and emoji (with their joiners) are tokens. Case is kept.
 */
export function tokenize(text: string): string[] {
  const us = units(text);
  const tokens: string[] = [];
  const emit = (from: number, to: number) => {
    const s = text.slice(us[from]!.start, us[to]!.end);
    for (let i = 0; i < s.length; i += MAX_TOKEN_LENGTH) {
      tokens.push(s.slice(i, i + MAX_TOKEN_LENGTH));
    }
  };
  let i = 0;
  while (i < us.length) {
    const u = us[i]!;
    switch (u.cls) {
      case C.Han:
      case C.Hiragana:
        emit(i, i);
        i++;
        continue;
      case C.SouthEastAsian: {
        let j = i;
        while (us[j + 1]?.cls === C.SouthEastAsian) {
          j++;
        }
        emit(i, j);
        i = j + 1;
        continue;
      }
      case C.Emoji: {
        let j = i;
        while (us[j]!.zwj && us[j + 1]?.cls === C.Emoji) {
          j++;
        }
        emit(i, j);
        i = j + 1;
        continue;
      }
      default:
        if (!isWordCore(u.cls) && u.cls !== C.ExtendNumLet) {
          i++;
          continue;
        }
    }
    // A word or number: extend while UAX #29 forbids a break between this unit and the next.
    let j = i;
    let core = isWordCore(u.cls);
    for (;;) {
      const a = us[j]!.cls;
      const b = us[j + 1]?.cls;
      const c = us[j + 2]?.cls;
      if (b === undefined) {
        break;
      }
      if (joins(a, b)) {
        j += 1;
      } else if (isAHLetter(a) && (b === C.MidLetter || b === C.MidNumLet || b === C.SingleQuote) && isAHLetter(c)) {
        j += 2; // WB6/WB7: "U.S", "don't", "a:b"
      } else if (a === C.Numeric && (b === C.MidNum || b === C.MidNumLet || b === C.SingleQuote) && c === C.Numeric) {
        j += 2; // WB11/WB12: "3.14", "1,000"
      } else if (a === C.Hebrew && b === C.DoubleQuote && c === C.Hebrew) {
        j += 2; // WB7b/WB7c
      } else if (a === C.Hebrew && b === C.SingleQuote) {
        j += 1; // WB7a
      } else {
        break;
      }
      core ||= isWordCore(us[j]!.cls);
    }
    if (core) {
      emit(i, j);
    }
    i = j + 1;
  }
  return tokens;
}

/** Pairs of classes with no word boundary between them (WB5, WB8-WB10, WB13, WB13a, WB13b). */
function joins(a: C, b: C): boolean {
  if ((isAHLetter(a) || a === C.Numeric) && (isAHLetter(b) || b === C.Numeric)) {
    return true;
  }
  if (a === C.Katakana && b === C.Katakana) {
    return true;
  }
  if ((isWordCore(a) || a === C.ExtendNumLet) && b === C.ExtendNumLet) {
    return true;
  }
  return a === C.ExtendNumLet && isWordCore(b);
}
