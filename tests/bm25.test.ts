import { describe, expect, it } from "vitest";
import { analyze, ENGLISH_STOP_WORDS, termCounts, tokenize } from "../pipelines/retrieve/analyzer.js";
import {
  bm25Idf,
  byte4ToInt,
  createBm25Index,
  intToByte4,
  luceneLength,
  queryTerms,
} from "../pipelines/retrieve/bm25.js";
import { porterStem } from "../pipelines/retrieve/porter.js";

describe("StandardTokenizer (UAX #29 word boundaries)", () => {
  it("keeps words, numbers and in-word punctuation together, and splits at hyphens and symbols", () => {
    expect(tokenize("The U.S. trial: p<0.05, n=1,000; IL-6 and TNF-α don't matter.")).toEqual([
      "The",
      "U.S",
      "trial",
      "p",
      "0.05",
      "n",
      "1,000",
      "IL",
      "6",
      "and",
      "TNF",
      "α",
      "don't",
      "matter",
    ]);
    expect(tokenize("foo_bar __init__ e.g. a:b 3.14.15 x2y")).toEqual([
      "foo_bar",
      "__init__",
      "e.g",
      "a:b",
      "3.14.15",
      "x2y",
    ]);
    expect(tokenize("ends with a dot. and 'quoted' words")).toEqual([
      "ends",
      "with",
      "a",
      "dot",
      "and",
      "quoted",
      "words",
    ]);
  });

  it("gives each ideograph and hiragana its own token, keeps katakana runs, and keeps combining marks", () => {
    expect(tokenize("東京 ひらがな カタカナ")).toEqual(["東", "京", "ひ", "ら", "が", "な", "カタカナ"]);
    expect(tokenize("cafe\u0301 na\u00efve")).toEqual(["cafe\u0301", "na\u00efve"]);
    expect(tokenize("elec\u00adtron")).toEqual(["elec\u00adtron"]);
    expect(tokenize("--- ... !!! ___")).toEqual([]);
  });

  it("cuts tokens longer than 255 characters", () => {
    expect(tokenize("x".repeat(600)).map((t) => t.length)).toEqual([255, 255, 90]);
  });
});

describe("Porter stemmer (Lucene's, Martin Porter's algorithm)", () => {
  const canonical: Record<string, string> = {
    caresses: "caress",
    ponies: "poni",
    ties: "ti",
    caress: "caress",
    cats: "cat",
    feed: "feed",
    agreed: "agre",
    plastered: "plaster",
    motoring: "motor",
    sing: "sing",
    conflated: "conflat",
    troubled: "troubl",
    sized: "size",
    hopping: "hop",
    tanned: "tan",
    falling: "fall",
    hissing: "hiss",
    fizzed: "fizz",
    failing: "fail",
    filing: "file",
    happy: "happi",
    sky: "sky",
    relational: "relat",
    conditional: "condit",
    rational: "ration",
    valenci: "valenc",
    digitizer: "digit",
    conformabli: "conform",
    radicalli: "radic",
    differentli: "differ",
    vileli: "vile",
    analogousli: "analog",
    vietnamization: "vietnam",
    predication: "predic",
    operator: "oper",
    feudalism: "feudal",
    decisiveness: "decis",
    hopefulness: "hope",
    callousness: "callous",
    formaliti: "formal",
    sensitiviti: "sensit",
    sensibiliti: "sensibl",
    triplicate: "triplic",
    formative: "form",
    formalize: "formal",
    electriciti: "electr",
    electrical: "electr",
    goodness: "good",
    revival: "reviv",
    allowance: "allow",
    inference: "infer",
    airliner: "airlin",
    adjustable: "adjust",
    defensible: "defens",
    irritant: "irrit",
    replacement: "replac",
    adjustment: "adjust",
    dependent: "depend",
    adoption: "adopt",
    communism: "commun",
    activate: "activ",
    angulariti: "angular",
    homologous: "homolog",
    effective: "effect",
    bowdlerize: "bowdler",
    probate: "probat",
    rate: "rate",
    cease: "ceas",
    controll: "control",
    roll: "roll",
    generalizations: "gener",
    oscillators: "oscil",
    // Lucene's departures from the 1980 paper, from Porter's own C release.
    archaeology: "archaeolog",
    possibly: "possibl",
  };
  it("stems the canonical examples", () => {
    for (const [word, stem] of Object.entries(canonical)) {
      expect(porterStem(word), word).toBe(stem);
    }
  });

  it("leaves words of one or two letters alone and treats other characters as consonants", () => {
    expect(porterStem("is")).toBe("is");
    expect(porterStem("as")).toBe("as");
    expect(porterStem("u.s")).toBe("u.");
    expect(porterStem("0.05")).toBe("0.05");
    expect(porterStem("cells")).toBe("cell");
  });
});

describe("analyzer (Anserini's DefaultEnglishAnalyzer)", () => {
  it("removes possessives, lower-cases, drops Lucene's stop words and stems", () => {
    expect(analyze("The patients' relational databases of John's lab")).toEqual([
      "patient",
      "relat",
      "databas",
      "john",
      "lab",
    ]);
    expect(analyze("It is not what they said, but there was no such thing")).toEqual(["what", "said", "thing"]);
    expect(analyze("İstanbul ΣΟΦΙΑ")).toEqual(["istanbul", "σοφια"]);
  });

  it("uses exactly Lucene's 33 English stop words", () => {
    expect(ENGLISH_STOP_WORDS.size).toBe(33);
    for (const w of ["a", "the", "not", "no", "with", "will", "their"]) {
      expect(ENGLISH_STOP_WORDS.has(w)).toBe(true);
    }
    for (const w of ["what", "between", "from", "he", "she"]) {
      expect(ENGLISH_STOP_WORDS.has(w)).toBe(false);
    }
  });

  it("counts terms; a repeated query term weighs its count", () => {
    expect([...termCounts(analyze("cells cell CELL mice"))]).toEqual([
      ["cell", 3],
      ["mice", 1],
    ]);
    expect([...queryTerms("yeast and yeasts ferment")]).toEqual([
      ["yeast", 2],
      ["ferment", 1],
    ]);
  });
});

describe("BM25 scored as Lucene 8+ does", () => {
  function corpus() {
    const index = createBm25Index();
    index.add("d1", "apple banana apple"); // appl ×2, banana: 3 terms
    index.add("d2", "banana cherry"); // 2 terms
    index.add("d3", "cherry date elderberry cherry"); // cherri ×2, date, elderberri: 4 terms
    index.add("empty", "the of and"); // only stop words: not a document for the statistics
    return index;
  }

  it("matches hand-computed scores (N = 3, avgdl = 3, k1 = 0.9, b = 0.4)", () => {
    const index = corpus();
    expect(index.docCount).toBe(3);
    expect(index.avgdl).toBe(3);
    // idf = ln(1 + (3 - 1 + 0.5) / (1 + 0.5)) = ln(8/3); norm = 0.9 · (0.6 + 0.4 · 3/3) = 0.9
    expect(index.search("apple", 10)).toEqual([{ id: "d1", score: expect.closeTo(0.676433967594294, 12) }]);
    expect(index.search("apple", 10)[0]!.score).toBeCloseTo((Math.log(8 / 3) * 2) / (2 + 0.9), 14);
    // idf(banana) = idf(cherri) = ln(1.6); d2: 2 · ln 1.6 / (1 + 0.78); d3: ln 1.6 · 2 / (2 + 1.02); d1: ln 1.6 / 1.9
    expect(index.search("banana cherry", 10)).toEqual([
      { id: "d2", score: expect.closeTo(0.5280939654446468, 12) },
      { id: "d3", score: expect.closeTo(0.31126068161969245, 12) },
      { id: "d1", score: expect.closeTo(0.24737033118196614, 12) },
    ]);
    expect(index.search("apples APPLE", 10)[0]!.score).toBeCloseTo(2 * 0.676433967594294, 12);
    expect(index.search("the durian", 10)).toEqual([]);
  });

  it("reads lengths back through Lucene's one-byte norm (100 terms score as 96)", () => {
    expect([0, 1, 23, 24, 40, 100, 250, 1000].map(luceneLength)).toEqual([0, 1, 23, 24, 40, 96, 248, 984]);
    expect(intToByte4(100)).toBe(57);
    expect(byte4ToInt(57)).toBe(96);
    expect(byte4ToInt(255)).toBe(2013265944);
    const index = createBm25Index();
    index.add("long", `zebra ${"filler ".repeat(99)}`);
    index.add("short", "zebra");
    // avgdl uses the exact lengths: (100 + 1) / 2
    expect(index.search("zebra", 2).find((h) => h.id === "long")!.score).toBeCloseTo(
      Math.log(1.2) / (1 + 0.9 * (0.6 + (0.4 * 96) / 50.5)),
      14,
    );
    expect(bm25Idf(10, 10)).toBeGreaterThan(0);
  });
});
