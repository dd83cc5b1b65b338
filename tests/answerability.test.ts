import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  answerabilityFeatures,
  answerabilityScore,
  expectedAnswerType,
  type AnswerabilityModel,
} from "../pipelines/answer/answerability.js";
import { ANSWERABILITY_MODEL } from "../pipelines/answer/answerability-model.js";
import { KEEPERS, LIGHTHOUSE, sources } from "./support/answer-fixtures.js";
import { indexedFolder, type startPipeline, type IndexedFolder } from "./support/pipeline.js";

describe("answerability judge", () => {
  it("reads the kind of answer a question asks for", () => {
    expect(expectedAnswerType("When was the Skerryvore lens installed?")).toBe("date");
    expect(expectedAnswerType("what year did the war end")).toBe("date");
    expect(expectedAnswerType("how many miles can the beam be seen")).toBe("number");
    expect(expectedAnswerType("who built the lighthouse")).toBe("name");
    expect(expectedAnswerType("where is skerryvore")).toBe("name");
    expect(expectedAnswerType("why do keepers log the weather")).toBe("other");
  });

  it("finds the asked-for year in a sentence that holds the question's terms", async () => {
    const f = await answerabilityFeatures(
      "When was the Fresnel lens of Skerryvore installed?",
      sources(["a.md", LIGHTHOUSE], ["b.md", KEEPERS]),
    );
    expect(f.covBest).toBe(1);
    expect(f.expectsType).toBe(1);
    expect(f.typeFound).toBe(1);
    expect(f.maxMissingIdf).toBe(0);
    expect(f.missingNumber).toBe(0);
    // No embedder given: the semantic features stay at zero rather than guessing.
    expect(f.cosBest).toBe(0);
  });

  it("sees a topical passage that lacks what is asked: a missing rare term and no answer of the type", async () => {
    const f = await answerabilityFeatures("When did the Skerryvore keepers go on strike?", sources(["b.md", KEEPERS]));
    expect(f.covBest).toBeLessThan(1);
    expect(f.maxMissingIdf).toBeGreaterThan(0.5);
    expect(f.typeFound).toBe(0);
    const g = await answerabilityFeatures("When was the lens installed in 1850?", sources(["a.md", LIGHTHOUSE]));
    // The question's own number is not in the passage: a different fact is asked about.
    expect(g.missingNumber).toBe(1);
  });

  it("scores with a standardised logistic model", () => {
    const model: AnswerabilityModel = {
      features: ["covBest", "typeFound"],
      mean: [0.5, 0],
      scale: [0.25, 1],
      weights: [2, 1],
      bias: -1,
      threshold: 0.5,
      fittedOn: "hand-made",
    };
    // z = -1 + 2 * (1 - 0.5) / 0.25 + 1 * 1 = 4
    expect(answerabilityScore({ covBest: 1, typeFound: 1 }, model)).toBeCloseTo(1 / (1 + Math.exp(-4)), 12);
    // A feature the vector lacks counts as 0: z = -1 + 2 * (0 - 0.5) / 0.25 = -5
    expect(answerabilityScore({}, model)).toBeCloseTo(1 / (1 + Math.exp(5)), 12);
  });

  it("ships a fitted model whose features the extractor computes", async () => {
    const f = await answerabilityFeatures("When was the Fresnel lens installed?", sources(["a.md", LIGHTHOUSE]));
    expect(ANSWERABILITY_MODEL.features.length).toBeGreaterThan(5);
    for (const name of ANSWERABILITY_MODEL.features) {
      expect(f).toHaveProperty(name);
    }
    expect(ANSWERABILITY_MODEL.threshold).toBeGreaterThan(0);
    expect(ANSWERABILITY_MODEL.threshold).toBeLessThan(1);
  });
});

describe("/ask with the answerability judge", () => {
  let pipeline: Awaited<ReturnType<typeof startPipeline>>;
  let folder: IndexedFolder;
  const QUESTION = "When was the Fresnel lens of the Skerryvore lighthouse installed?";

  beforeAll(async () => {
    folder = await indexedFolder(
      { "lighthouse.md": `# Skerryvore\n\n${LIGHTHOUSE}\n\n${KEEPERS}\n` },
      "rag-answerability-",
    );
    ({ pipeline } = folder);
  });
  afterAll(async () => {
    await folder.close();
  });

  it("by default judges with the fitted bar, reports its score, and answers a question the source answers", async () => {
    delete pipeline.deps.config.ANSWERABILITY_MIN;
    const { status, body } = await pipeline.ask(QUESTION);
    expect(status).toBe(200);
    expect(body.answerability.threshold).toBe(ANSWERABILITY_MODEL.threshold);
    expect(body.answerability.score).toBeGreaterThanOrEqual(ANSWERABILITY_MODEL.threshold);
    expect(body.abstained).toBe(false);
    expect(body.answer).toContain("1844");
  });

  it("below the bar it abstains before generating, saying why; 0 turns the judge off", async () => {
    pipeline.deps.config.ANSWERABILITY_MIN = 0.9999;
    const judged = await pipeline.ask(QUESTION);
    expect(judged.body.abstained).toBe(true);
    expect(judged.body.citations).toEqual([]);
    expect(judged.body.abstainReason).toMatch(/answerability 0\.\d+ < 0\.9999/);
    expect(judged.body.answerability.score).toBeLessThan(0.9999);

    pipeline.deps.config.ANSWERABILITY_MIN = 0;
    const off = await pipeline.ask(QUESTION);
    expect(off.body.abstained).toBe(false);
    expect(off.body).not.toHaveProperty("answerability");
    delete pipeline.deps.config.ANSWERABILITY_MIN;
  });
});
