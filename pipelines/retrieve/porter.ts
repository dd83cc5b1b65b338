/**
 * Martin Porter's stemmer as Lucene's `PorterStemFilter` runs it: the ANSI C release 3 of the
 * algorithm (Porter 1980) with its two published departures (`-bli` → `-ble` instead of `-abli` →
 * `-able`, and `-logi` → `-log`), the two bounds fixes, and words of one or two characters left
 * alone. Any character other than a, e, i, o, u (and y after a consonant) counts as a consonant,
 * digits and apostrophes included, exactly as in Lucene; matching its output term for term is
 * what lets the lexical retriever reproduce Lucene's BM25 figures.
 *
 * @example porterStem("generalizations") === "gener"; porterStem("ponies") === "poni"
 */
// Kept over `stemmer` 2.0.1: it differs from Lucene on "eed", "eeds", "ies", "sses" (4 of 119,301 terms from
// tests/fixtures, SciFact, ClapNQ, the Rust book) and is no faster; those terms would change BM25 scores.
export function porterStem(word: string): string {
  if (word.length <= 2) {
    return word;
  }
  return new Stemmer(word).run();
}

/** One word being stemmed; indices follow the C original (k = last index, j = end of the stem). */
class Stemmer {
  private b: string[];
  private k: number;
  private j = 0;

  constructor(word: string) {
    this.b = word.split("");
    this.k = word.length - 1;
  }

  run(): string {
    this.step1();
    this.step2();
    this.step3();
    this.step4();
    this.step5();
    this.step6();
    return this.b.slice(0, this.k + 1).join("");
  }

  private cons(i: number): boolean {
    switch (this.b[i]) {
      case "a":
      case "e":
      case "i":
      case "o":
      case "u":
        return false;
      case "y":
        return i === 0 ? true : !this.cons(i - 1);
      default:
        return true;
    }
  }

  /** The number of consonant-vowel sequences ("measure") in b[0..j]. */
  private m(): number {
    let n = 0;
    let i = 0;
    const j = this.j;
    for (;;) {
      if (i > j) {
        return n;
      }
      if (!this.cons(i)) {
        break;
      }
      i++;
    }
    i++;
    for (;;) {
      for (;;) {
        if (i > j) {
          return n;
        }
        if (this.cons(i)) {
          break;
        }
        i++;
      }
      i++;
      n++;
      for (;;) {
        if (i > j) {
          return n;
        }
        if (!this.cons(i)) {
          break;
        }
        i++;
      }
      i++;
    }
  }

  private vowelInStem(): boolean {
    for (let i = 0; i <= this.j; i++) {
      if (!this.cons(i)) {
        return true;
      }
    }
    return false;
  }

  private doubleC(j: number): boolean {
    if (j < 1) {
      return false;
    }
    if (this.b[j] !== this.b[j - 1]) {
      return false;
    }
    return this.cons(j);
  }

  /** Consonant-vowel-consonant ending at i, the last consonant not w, x or y (hop(e), not snow). */
  private cvc(i: number): boolean {
    if (i < 2 || !this.cons(i) || this.cons(i - 1) || !this.cons(i - 2)) {
      return false;
    }
    const ch = this.b[i];
    return ch !== "w" && ch !== "x" && ch !== "y";
  }

  private ends(s: string): boolean {
    const l = s.length;
    const o = this.k - l + 1;
    if (o < 0) {
      return false;
    }
    for (let i = 0; i < l; i++) {
      if (this.b[o + i] !== s[i]) {
        return false;
      }
    }
    this.j = this.k - l;
    return true;
  }

  private setTo(s: string): void {
    const o = this.j + 1;
    for (let i = 0; i < s.length; i++) {
      this.b[o + i] = s[i]!;
    }
    this.k = this.j + s.length;
  }

  private r(s: string): void {
    if (this.m() > 0) {
      this.setTo(s);
    }
  }

  /** Plurals and -ed / -ing: caresses → caress, ponies → poni, agreed → agree, hopping → hop. */
  private step1(): void {
    if (this.b[this.k] === "s") {
      if (this.ends("sses")) {
        this.k -= 2;
      } else if (this.ends("ies")) {
        this.setTo("i");
      } else if (this.b[this.k - 1] !== "s") {
        this.k--;
      }
    }
    if (this.ends("eed")) {
      if (this.m() > 0) {
        this.k--;
      }
    } else if ((this.ends("ed") || this.ends("ing")) && this.vowelInStem()) {
      this.k = this.j;
      if (this.ends("at")) {
        this.setTo("ate");
      } else if (this.ends("bl")) {
        this.setTo("ble");
      } else if (this.ends("iz")) {
        this.setTo("ize");
      } else if (this.doubleC(this.k)) {
        const ch = this.b[this.k--];
        if (ch === "l" || ch === "s" || ch === "z") {
          this.k++;
        }
      } else if (this.m() === 1 && this.cvc(this.k)) {
        this.setTo("e");
      }
    }
  }

  /** Terminal y → i when the stem has another vowel. */
  private step2(): void {
    if (this.ends("y") && this.vowelInStem()) {
      this.b[this.k] = "i";
    }
  }

  /** Double suffixes to single ones: -ization → -ize, -ational → -ate. */
  private step3(): void {
    if (this.k === 0) {
      return;
    }
    const rules = STEP3[this.b[this.k - 1]!];
    if (rules) {
      this.firstRule(rules);
    }
  }

  /** -ic-, -full, -ness and the like. */
  private step4(): void {
    const rules = STEP4[this.b[this.k]!];
    if (rules) {
      this.firstRule(rules);
    }
  }

  /** Applies the first rule whose suffix matches (only that one, even when its measure fails). */
  private firstRule(rules: ReadonlyArray<readonly [string, string]>): void {
    for (const [suffix, replacement] of rules) {
      if (this.ends(suffix)) {
        this.r(replacement);
        return;
      }
    }
  }

  /** -ant, -ence and others, in stems of measure over 1. */
  private step5(): void {
    if (this.k === 0) {
      return;
    }
    const suffixes = STEP5[this.b[this.k - 1]!];
    if (!suffixes) {
      return;
    }
    let matched = false;
    for (const s of suffixes) {
      if (!this.ends(s)) {
        continue;
      }
      // -ion goes only after s or t (adoption → adopt, but not onion).
      if (s === "ion" && !(this.j >= 0 && (this.b[this.j] === "s" || this.b[this.j] === "t"))) {
        continue;
      }
      matched = true;
      break;
    }
    if (matched && this.m() > 1) {
      this.k = this.j;
    }
  }

  /** A final -e when the measure allows, and -ll → -l. */
  private step6(): void {
    this.j = this.k;
    if (this.b[this.k] === "e") {
      const a = this.m();
      if (a > 1 || (a === 1 && !this.cvc(this.k - 1))) {
        this.k--;
      }
    }
    if (this.b[this.k] === "l" && this.doubleC(this.k) && this.m() > 1) {
      this.k--;
    }
  }
}

// Keyed by the penultimate letter (step 3, step 5) or the last letter (step 4), in the C order.
const STEP3: Record<string, ReadonlyArray<readonly [string, string]>> = {
  a: [
    ["ational", "ate"],
    ["tional", "tion"],
  ],
  c: [
    ["enci", "ence"],
    ["anci", "ance"],
  ],
  e: [["izer", "ize"]],
  l: [
    ["bli", "ble"],
    ["alli", "al"],
    ["entli", "ent"],
    ["eli", "e"],
    ["ousli", "ous"],
  ],
  o: [
    ["ization", "ize"],
    ["ation", "ate"],
    ["ator", "ate"],
  ],
  s: [
    ["alism", "al"],
    ["iveness", "ive"],
    ["fulness", "ful"],
    ["ousness", "ous"],
  ],
  t: [
    ["aliti", "al"],
    ["iviti", "ive"],
    ["biliti", "ble"],
  ],
  g: [["logi", "log"]],
};

const STEP4: Record<string, ReadonlyArray<readonly [string, string]>> = {
  e: [
    ["icate", "ic"],
    ["ative", ""],
    ["alize", "al"],
  ],
  i: [["iciti", "ic"]],
  l: [
    ["ical", "ic"],
    ["ful", ""],
  ],
  s: [["ness", ""]],
};

const STEP5: Record<string, readonly string[]> = {
  a: ["al"],
  c: ["ance", "ence"],
  e: ["er"],
  i: ["ic"],
  l: ["able", "ible"],
  n: ["ant", "ement", "ment", "ent"],
  o: ["ion", "ou"],
  s: ["ism"],
  t: ["ate", "iti"],
  u: ["ous"],
  v: ["ive"],
  z: ["ize"],
};
