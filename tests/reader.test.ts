import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  answerContainsAny,
  bestSentenceOverlap,
  rougeL,
  sentenceOverlap,
  tokenRecall,
} from "../pipelines/eval/answer-metrics.js";
import { EvalInputError } from "../pipelines/eval/beir.js";
import { readSuite } from "../pipelines/eval/suite.js";
import { READER_MODEL } from "../pipelines/answer/reader-model.js";
import { createExtractiveGenerator } from "../pipelines/generate/extractive.js";
import { chooseAnswer, type ReaderModel, scoreUnits } from "../pipelines/generate/reader.js";
import { answerTypeOf, nameOf, termOf } from "../pipelines/generate/reader-features.js";
import type { ContextSource } from "../pipelines/generate/types.js";
import { verifyAnswer } from "../pipelines/verify/verify.js";
import { hit } from "./support/answer-fixtures.js";
import { tempDir } from "./support/temp-dir.js";

const source = (n: number, text: string, headingPath: string[] = []): ContextSource => ({
  n,
  hit: hit(`p${n}.html`, text, 1, headingPath),
  text,
  tokens: 0,
});
/** The shipped reader with every weight zero (every unit's probability 0.5) and this stopping rule. */
const evenModel = (rule: Partial<ReaderModel>): ReaderModel => ({
  ...READER_MODEL,
  weights: READER_MODEL.weights.map(() => 0),
  bias: 0,
  ...rule,
});
const generator = createExtractiveGenerator();
const ask = async (question: string, sources: ContextSource[]) => {
  const answer = await generator.generate({ question, sources });
  const verified = await verifyAnswer(answer, sources, { mode: "remove", minSupportedShare: 0.5 });
  return { answer, verified };
};

describe("the extractive reader", () => {
  it("names the described term before a description that does not, and the verifier keeps it", async () => {
    const { answer, verified } = await ask("Which function returns the number of items in an object?", [
      source(
        1,
        "Return the length (the number of items) of an object. The argument may be a sequence or a collection.",
        ["Built-in Functions", "len(s)"],
      ),
      source(2, "Return the absolute value of a number. The argument may be an integer or a float.", [
        "Built-in Functions",
        "abs(x)",
      ]),
    ]);
    expect(answer.text.startsWith("len(s): Return the length (the number of items) of an object.")).toBe(true);
    expect(answer.cited).toEqual([1]);
    expect(verified.abstained).toBe(false);
    expect(verified.text).toContain("len(s): Return the length");
  });

  it("answers from a table row with its headers, not from the rows beside it", async () => {
    const rows =
      "Level: CRITICAL · Numeric value: 50\n\nLevel: ERROR · Numeric value: 40\n\nLevel: WARNING · Numeric value: 30\n\nLevel: INFO · Numeric value: 20";
    const { answer, verified } = await ask("What is the numeric value of the WARNING level?", [
      source(1, `The numeric values of logging levels are given in the following table.\n\n${rows}`, [
        "Logging Levels",
      ]),
    ]);
    expect(answer.text).toContain("Level: WARNING · Numeric value: 30 [1]");
    expect(answer.text).not.toContain("ERROR");
    expect(verified.abstained).toBe(false);
  });

  it("pulls in the next sentence when it holds the asked-for default", async () => {
    const text =
      "The compresslevel argument controls how hard gzip compresses the stream written to the file. The default is 9. Other arguments are passed to the file object unchanged.";
    const { answer, verified } = await ask("What is the default compresslevel of gzip files?", [
      source(1, text, ["gzip"]),
    ]);
    expect(answer.text).toContain("The default is 9.");
    expect(verified.text).toContain("The default is 9.");
  });

  it("does not prefix a topic heading, and abstains when no sentence covers the question", async () => {
    const { answer } = await ask("Who founded the lighthouse board?", [
      source(1, "The lighthouse board was founded by Robert Stevenson in 1786. It built many towers.", [
        "Lighthouses (history)",
      ]),
    ]);
    expect(answer.text.startsWith("The lighthouse board was founded by Robert Stevenson")).toBe(true);
    const none = await generator.generate({
      question: "What colour are penguin eggs?",
      sources: [source(1, "Gzip compresses files with the deflate algorithm used by zlib.")],
    });
    expect(none.abstained).toBe(true);
  });

  it("recognises terms and answer types", () => {
    expect(termOf("gzip.open(filename, mode='rb')")).toBe("gzip.open(filename, mode='rb')");
    expect(termOf("--force")).toBe("--force");
    expect(termOf("Bat Out of Hell (album)")).toBeNull();
    expect(termOf("Forecasting")).toBeNull();
    expect(nameOf("class argparse.ArgumentParser(prog=None)")).toBe("argparse.ArgumentParser");
    expect(answerTypeOf("Which struct format character means big-endian?")).toBe("code");
    expect(answerTypeOf("What is the default mode of gzip.open()?")).toBe("value");
    expect(answerTypeOf("How many bytes is a short?")).toBe("number");
    expect(answerTypeOf("Does argparse add a help option?")).toBe("yesno");
  });
});

describe("answer metrics", () => {
  it("token recall and ROUGE-L against a reference", () => {
    expect(tokenRecall("The default is 9.", "9 is the default")).toBe(1);
    expect(tokenRecall("nothing here", "the default is 9")).toBe(0);
    expect(rougeL("a b c d", "a b c d")).toBe(1);
    // LCS "b d" of 4 and 3 tokens: P 0.5, R 2/3.
    expect(rougeL("b x d y", "b d z")).toBeCloseTo((2 * 0.5 * (2 / 3)) / (0.5 + 2 / 3), 10);
    expect(rougeL("", "a")).toBe(0);
  });

  it("selected-sentence precision and recall tolerate ClapNQ's tokenisation, and take the best annotator", () => {
    const gold = [
      "In law , it refers to the power of the state .",
      "Parens patriae is Latin for `` parent of the nation '' .",
    ];
    const o = sentenceOverlap(
      ["In law, it refers to the power of the state.", "An unrelated sentence about ships."],
      gold,
    );
    expect(o).toEqual({ precision: 0.5, recall: 0.5 });
    expect(sentenceOverlap([], gold)).toEqual({ precision: null, recall: 0 });
    expect(
      bestSentenceOverlap(["An unrelated sentence about ships."], [gold, ["An unrelated sentence about ships ."]]),
    ).toEqual({ precision: 1, recall: 1 });
  });

  it("answer_any matches case- and quote-insensitively", () => {
    expect(answerContainsAny("prefix_chars - (default: ‘-‘)", ["(default: '-')"])).toBe(true);
    expect(answerContainsAny("The DEFAULT is 'rb'", ["the default is 'rb'"])).toBe(true);
    expect(answerContainsAny("mode='wb'", ["mode='rb'", "default is 'rb'"])).toBe(false);
  });
});

describe("suites with answer_any", () => {
  const dir = tempDir("suite-any-");
  const write = (lines: object[]) => {
    const file = join(dir, `s${Math.random().toString(36).slice(2)}.jsonl`);
    writeFileSync(file, lines.map((l) => JSON.stringify(l)).join("\n"));
    return file;
  };

  it("reads answer_any and rejects it where it cannot apply", () => {
    expect(readSuite(write([{ question: "q?", relevant: ["a.html"], answer_any: ["len("] }]))[0]!.answer_any).toEqual([
      "len(",
    ]);
    expect(() => readSuite(write([{ question: "q?", relevant: [], answerable: false, answer_any: ["x"] }]))).toThrow(
      /unanswerable question cannot list answer strings/,
    );
    expect(() => readSuite(write([{ question: "q?", relevant: ["a.html"], answer_any: [] }]))).toThrow(EvalInputError);
    expect(() => readSuite(write([{ question: "q?", relevant: ["a.html"], answer_any: [" "] }]))).toThrow(
      /must not be empty/,
    );
  });
});

describe("the reader reads a document's packed chunks as one passage", () => {
  const chunk = (n: number, ordinal: number, text: string): ContextSource => ({
    n,
    hit: { ...hit("mount-logan.md", text, 1, ["Mount Logan"]), chunkId: `logan-${ordinal}`, ordinal },
    text,
    tokens: 0,
  });
  // Packed in rank order: the document's second chunk first.
  const packed = [
    chunk(
      1,
      1,
      "Mount Logan lies within Kluane National Park Reserve in southwestern Yukon. It was first climbed in 1925.",
    ),
    chunk(2, 0, "Mount Logan is the highest mountain in Canada. It is named after the geologist William Logan."),
    source(3, "Denali is the highest peak in North America and lies in Alaska.", ["Denali"]),
  ];
  // Every unit has probability 0.5: none clears the bar, every neighbour clears the neighbour bar.
  const model = evenModel({ threshold: 0.9, neighbourThreshold: 0.1, maxUnits: 2, rankedPassageShare: 1 });

  it("numbers the units of both chunks in document order, across the chunk boundary", () => {
    const scored = scoreUnits("where is mount logan located in yukon", packed, model, 1);
    const logan = scored.filter((s) => s.source.n !== 3).sort((a, b) => a.index - b.index);
    expect(new Set(logan.map((s) => s.passage)).size).toBe(1);
    expect(logan.map((s) => s.source.n)).toEqual([2, 2, 1, 1]);
    expect(scored.find((s) => s.source.n === 3)!.passage).not.toBe(logan[0]!.passage);
  });

  it("marks the document's lead sentence, not its heading line nor a later chunk's first sentence", () => {
    const withHeading = [
      chunk(1, 1, "It was first climbed in 1925 by an expedition led by Albert MacCarthy."),
      chunk(2, 0, "# Mount Logan\n\nMount Logan is the highest mountain in Canada. It lies in the Yukon."),
    ];
    const scored = scoreUnits("when was mount logan first climbed", withHeading, model, 1);
    const lead = scored.filter((s) => s.features.first === 1).map((s) => s.unit.text);
    expect(lead).toEqual(["Mount Logan is the highest mountain in Canada."]);
    const later = scoreUnits("when was mount logan first climbed", [withHeading[0]!], model, 1);
    expect(later.every((s) => s.features.first === 0)).toBe(true);
  });

  it("ranks each unit's coverage within its passage, not against other passages", () => {
    const scored = scoreUnits("where is mount logan located in yukon", packed, model, 1);
    const rankOf = (text: string) => scored.find((s) => s.unit.text.startsWith(text))!.features.coverageRank;
    // "lies within … Yukon" holds the most of the question, then the two sentences naming Logan.
    expect(rankOf("Mount Logan lies within")).toBe(0);
    expect(rankOf("Mount Logan is the highest")).toBeCloseTo(Math.log(2));
    expect(rankOf("It is named after")).toBeCloseTo(Math.log(3));
    expect(rankOf("It was first climbed")).toBeCloseTo(Math.log(4));
    // Denali's passage is ranked alone.
    expect(rankOf("Denali")).toBe(0);
  });

  it("pulls in the neighbour from the other chunk, each sentence citing its own chunk", () => {
    const scored = scoreUnits("where is mount logan located in yukon", packed, model, 1);
    const { units } = chooseAnswer("where is mount logan located in yukon", scored, model, 4);
    expect(units.map((u) => [u.source.n, u.text])).toEqual([
      [2, "It is named after the geologist William Logan."],
      [1, "Mount Logan lies within Kluane National Park Reserve in southwestern Yukon."],
    ]);
  });
});

describe("the reader chooses the passage to answer from", () => {
  // Every unit has probability 0.5: only the passage's best-supported unit is said.
  const model = evenModel({ threshold: 0.9, neighbourThreshold: 1, rankedPassageShare: 0.5 });
  const question = "where is mount logan located in yukon";
  const answer = (located: number, other: number, m = model) => {
    const sources = [
      source(located, "Mount Logan is located in the Yukon near the Alaska border.", ["Mount Logan"]),
      source(other, "Mount Logan is the highest mountain of the Yukon.", ["Canadian peaks"]),
    ].sort((a, b) => a.n - b.n);
    return chooseAnswer(question, scoreUnits(question, sources, m, 0), m, 4).units.map((u) => u.source.n);
  };

  it("reads the one the reranker put first when it has the share of the best support, and only it", () => {
    expect(answer(2, 1)).toEqual([1]);
    expect(answer(2, 1, { ...model, rankedPassageShare: 0.9 })).toEqual([2]);
  });

  it("reads the best-supported one when the others are ranked after it", () => {
    expect(answer(1, 2)).toEqual([1]);
    expect(answer(1, 2, { ...model, rankedPassageShare: 0.1 })).toEqual([1]);
  });

  it("of several ranked before the best-supported one, reads the first-ranked", () => {
    const sources = [
      source(1, "Logan rises in the Yukon, they say.", ["Mountains"]),
      source(2, "Mount Logan is the highest mountain of the Yukon.", ["Canadian peaks"]),
      source(3, "Mount Logan is located in the Yukon near the Alaska border.", ["Mount Logan"]),
    ];
    const lower = { ...model, rankedPassageShare: 0.3 };
    const scored = scoreUnits(question, sources, lower, 0);
    const support = (n: number) => scored.find((s) => s.source.n === n)!.support;
    expect(support(2)).toBeGreaterThan(support(1));
    expect(chooseAnswer(question, scored, lower, 4).units.map((u) => u.source.n)).toEqual([1]);
  });
});
