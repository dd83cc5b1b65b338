import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { corpusHash, readBeir, readQrels } from "../pipelines/eval/beir.js";
import { fitFusion } from "../pipelines/eval/fit.js";
import type { QueryCandidates } from "../pipelines/eval/beir-run.js";
import { evaluateRun, meanOf, mrrAt, ndcgAt, percentile, rankByScore, recallAt } from "../pipelines/eval/metrics.js";
import { chartSvg, compareToBaseline } from "../pipelines/eval/report.js";
import { readSuite } from "../pipelines/eval/suite.js";
import { fusionFor } from "../pipelines/retrieve/hybrid.js";
import { tempDir } from "./support/temp-dir.js";

const FIXTURE = new URL("./fixtures/beir-tiny/", import.meta.url).pathname;
const tmp = tempDir("rag-eval-metrics-");

describe("retrieval metrics on hand-made rankings", () => {
  const judged = new Map([
    ["a", 1],
    ["c", 1],
    ["z", 1],
  ]);
  const ranking = ["a", "b", "c", "d", "e"];

  it("Recall@k: relevant found in the first k over all relevant", () => {
    expect(recallAt(ranking, judged, 5)).toBeCloseTo(2 / 3, 12);
    expect(recallAt(ranking, judged, 1)).toBeCloseTo(1 / 3, 12);
    expect(recallAt(ranking, judged, 2)).toBeCloseTo(1 / 3, 12);
    // A grade of 0 is judged non-relevant; no relevant document at all leaves the query out.
    expect(recallAt(["x"], new Map([["x", 0]]), 10)).toBeNull();
  });

  it("MRR@10: 1 / rank of the first relevant, 0 when none is in the first 10 (the docs' worked example)", () => {
    const one = new Map([["r", 1]]);
    const rr = [mrrAt(["r", "x"], one), mrrAt(["x", "y", "r"], one), mrrAt(["x", "y"], one)];
    expect(rr).toEqual([1, 1 / 3, 0]);
    expect(meanOf(rr)).toBeCloseTo(0.4444, 4);
    expect(mrrAt([..."abcdefghij", "r"].map(String), one, 10)).toBe(0);
  });

  it("nDCG@10: relevant at ranks 1 and 3 of two gives 1.5 / (1 + 1/log2 3) ≈ 0.920", () => {
    const two = new Map([
      ["r1", 1],
      ["r2", 1],
    ]);
    expect(ndcgAt(["r1", "x", "r2"], two)).toBeCloseTo(1.5 / (1 + 1 / Math.log2(3)), 12);
    expect(ndcgAt(["r1", "r2"], two)).toBe(1);
    expect(ndcgAt(["x"], two)).toBe(0);
    // Graded: the ideal order puts the grade-2 document first.
    const graded = new Map([
      ["g2", 2],
      ["g1", 1],
    ]);
    expect(ndcgAt(["g1", "g2"], graded)).toBeCloseTo((1 + 2 / Math.log2(3)) / (2 + 1 / Math.log2(3)), 12);
    // Only the first k count.
    expect(ndcgAt([..."abcdefghij", "r1"], two)).toBe(0);
  });

  it("ranks ties as trec_eval does (document id descending) and averages a run over judged queries", () => {
    expect(
      rankByScore(
        new Map([
          ["d1", 1],
          ["d3", 1],
          ["d2", 2],
        ]),
      ),
    ).toEqual(["d2", "d3", "d1"]);
    const qrels = new Map([
      ["q1", new Map([["a", 1]])],
      ["q2", new Map([["b", 1]])],
      ["q3", new Map([["c", 0]])],
    ]);
    const f = evaluateRun(
      new Map([
        ["q1", ["a"]],
        ["q2", ["x", "b"]],
      ]),
      qrels,
      1,
    );
    expect(f.queries).toBe(2);
    expect(f.mrr10).toBeCloseTo(0.75, 12);
    expect(f.recallK).toBeCloseTo(0.5, 12);
    expect(f.recall100).toBe(1);
  });

  it("percentiles by nearest rank, means skip nulls", () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([percentile(xs, 0.5), percentile(xs, 0.95), percentile(xs, 0.99)]).toEqual([50, 95, 99]);
    expect(percentile([7], 0.99)).toBe(7);
    expect(percentile([], 0.5)).toBeNull();
    expect(meanOf([1, null, 0, undefined])).toBe(0.5);
    expect(meanOf([null])).toBeNull();
  });
});

describe("readers", () => {
  it("reads a BEIR folder: CRLF qrels with a header row, graded and zero judgements", () => {
    expect(readFileSync(join(FIXTURE, "qrels/test.tsv"), "utf8")).toContain("\r\n");
    const ds = readBeir(FIXTURE);
    expect(ds.name).toBe("beir-tiny");
    expect(ds.corpus).toHaveLength(7);
    expect(ds.corpus[0]).toEqual(expect.objectContaining({ id: "d1", title: "Zymase and alcoholic fermentation" }));
    expect(ds.queries.get("7")).toBe("meltwater runoff from alpine ice");
    const test = readQrels(FIXTURE, "test");
    expect([...test.keys()]).toEqual(["5", "6", "7"]);
    expect(test.get("7")).toEqual(new Map([["d3", 2]]));
    expect(readQrels(FIXTURE, "train").get("4")).toEqual(
      new Map([
        ["d5", 1],
        ["d6", 0],
      ]),
    );
    expect(corpusHash(ds.corpus)).toMatch(/^[0-9a-f]{64}$/);
  });

  it("names the file and line of bad BEIR input", () => {
    expect(() => readBeir(join(tmp, "no-such-folder"))).toThrow(/corpus\.jsonl does not exist/);
    expect(() => readQrels(FIXTURE, "dev")).toThrow(/qrels\/dev\.tsv does not exist/);
    expect(() => readQrels(FIXTURE, "../x")).toThrow(/--split must be a plain name/);
    const qdir = join(tmp, "bad-qrels");
    mkdirSync(join(qdir, "qrels"), { recursive: true });
    writeFileSync(join(qdir, "qrels", "test.tsv"), "query-id\tcorpus-id\tscore\r\n1\td1\t1\r\n2 d2 1\r\n");
    expect(() => readQrels(qdir, "test")).toThrow(/test\.tsv:3: expected "query-id<TAB>corpus-id<TAB>score"/);
  });

  it("validates a suite line by line: defaults, ids, and the line number of a bad line", () => {
    const good = join(tmp, "good.jsonl");
    writeFileSync(
      good,
      [
        '{"question": "What is BM25?", "relevant": ["a.md"], "reference": "A ranking function."}',
        "",
        '{"id": "u1", "question": "Unknown?", "relevant": [], "answerable": false}',
      ].join("\n"),
    );
    const items = readSuite(good);
    expect(items).toEqual([
      { id: "q1", question: "What is BM25?", relevant: ["a.md"], reference: "A ranking function.", answerable: true },
      { id: "u1", question: "Unknown?", relevant: [], answerable: false },
    ]);
    const cases: Array<[string, RegExp]> = [
      [
        '{"question": "ok", "relevant": ["a"]}\n{"question": "", "relevant": ["a"]}',
        /bad\.jsonl:2: question: must be a non-empty question/,
      ],
      ['{"question": "ok", "relevant": ["a"]}\n{not json', /bad\.jsonl:2: not valid JSON/],
      ['{"question": "ok", "relevant": "a.md"}', /bad\.jsonl:1: relevant: /],
      [
        '{"question": "ok", "relevant": []}',
        /bad\.jsonl:1: relevant: an answerable question needs at least one relevant document/,
      ],
      ['{"question": "ok", "relevant": ["a"], "answer": "x"}', /bad\.jsonl:1: .*answer/],
      [
        '{"id": "x", "question": "a", "relevant": ["a"]}\n{"id": "x", "question": "b", "relevant": ["b"]}',
        /id "x" appears twice/,
      ],
      ["\n\n", /the suite has no questions/],
    ];
    for (const [text, message] of cases) {
      writeFileSync(join(tmp, "bad.jsonl"), text);
      expect(() => readSuite(join(tmp, "bad.jsonl"))).toThrow(message);
    }
  });
});

describe("regression gate and chart", () => {
  it("fails a quality figure that fell more than the tolerance, never latency", () => {
    const baseline = { "ndcg@10": 0.7, "mrr@10": 0.6, faithfulness: null, latencyP95Ms: 10 };
    const current = { "ndcg@10": 0.67, "mrr@10": 0.59, faithfulness: 0.9, latencyP95Ms: 900 };
    const gate = compareToBaseline(current, baseline, 0.02);
    expect(gate.regressions).toEqual([
      { metric: "ndcg@10", baseline: 0.7, current: 0.67, drop: expect.closeTo(0.03, 12) },
    ]);
    expect(compareToBaseline(current, baseline, 0.05).regressions).toEqual([]);
    // Exactly at the tolerance passes.
    expect(compareToBaseline({ x: 0.5 }, { x: 0.52 }, 0.02).regressions).toEqual([]);
  });

  it("draws one bar per quality figure, and the baseline's beside it", () => {
    const svg = chartSvg({ "ndcg@10": 0.5, faithfulness: null, latencyP50Ms: 12 }, { "ndcg@10": 0.6 });
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(svg).toContain(">ndcg@10</text>");
    expect(svg).not.toContain("latencyP50Ms");
    expect(svg).toContain(">0.500</text>");
    expect(svg).toContain(">0.600</text>");
    expect(svg).toContain(">n/a</text>");
  });
});

describe("fitting fusion weights", () => {
  // Query 1: lexical ranks the relevant document second, dense ranks it first; query 2: lexical is right.
  const candidates = new Map<string, QueryCandidates>([
    [
      "q1",
      {
        question: "q1",
        ms: 1,
        lexical: [
          { chunkId: "c1", doc: "x", score: 10 },
          { chunkId: "c2", doc: "rel1", score: 9 },
          { chunkId: "c3", doc: "y", score: 1 },
        ],
        dense: [
          { chunkId: "c2", doc: "rel1", score: 0.9 },
          { chunkId: "c1", doc: "x", score: 0.5 },
          { chunkId: "c3", doc: "y", score: 0.4 },
        ],
      },
    ],
    [
      "q2",
      {
        question: "q2",
        ms: 1,
        lexical: [
          { chunkId: "c4", doc: "rel2", score: 5 },
          { chunkId: "c5", doc: "z", score: 1 },
        ],
        dense: [
          { chunkId: "c5", doc: "z", score: 0.8 },
          { chunkId: "c4", doc: "rel2", score: 0.7 },
        ],
      },
    ],
  ]);
  const qrels = new Map([
    ["q1", new Map([["rel1", 1]])],
    ["q2", new Map([["rel2", 1]])],
  ]);

  it("picks the weight that beats both single retrievers on the split, the smaller one on ties", async () => {
    const fit = await fitFusion(new Map([[0.7, candidates]]), qrels, {
      fittedOn: "tiny/train (2 queries)",
      candidates: 3,
      denseWeights: [0, 0.1, 0.3, 0.5, 1],
    });
    // Lexical alone and dense alone each get one query right at rank 1 (nDCG 0.815); 0.3 gets both.
    expect(fit.grid.find((c) => c.denseWeight === 0)!.ndcg10).toBeCloseTo((1 + 1 / Math.log2(3)) / 2, 12);
    expect(fit.fusion).toEqual(
      expect.objectContaining({ denseWeight: 0.3, documentWeight: 0.7, ndcg10: 1, fittedOn: "tiny/train (2 queries)" }),
    );
    expect(fit.fusion.bestSingle.ndcg10).toBeLessThan(fit.fusion.ndcg10);
  });

  it("queries use DENSE_WEIGHT, else the generation's fitted weights and depth, else the embedder's default", () => {
    const fusion = {
      denseWeight: 0.3,
      documentWeight: 0.85,
      fittedOn: "t",
      ndcg10: 1,
      bestSingle: { retriever: "lexical" as const, ndcg10: 0.8 },
      candidates: 10,
      fittedAt: "",
    };
    expect(fusionFor({ fusion: null }, "use-lite")).toEqual({ denseWeight: 0.2, source: "default" });
    expect(fusionFor({ fusion }, "use-lite")).toEqual({
      denseWeight: 0.3,
      documentWeight: 0.85,
      candidates: 10,
      source: "fitted",
    });
    expect(fusionFor({ fusion }, "use-lite", 0.6)).toEqual({
      denseWeight: 0.6,
      documentWeight: 0.85,
      source: "DENSE_WEIGHT",
    });
  });
});
