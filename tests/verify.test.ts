import { describe, expect, it } from "vitest";
import { ABSTAIN_MESSAGE, citedSentences } from "../pipelines/generate/answer-text.js";
import { createExtractiveGenerator } from "../pipelines/generate/extractive.js";
import { toAnswer } from "../pipelines/generate/openai.js";
import { verifyAnswer } from "../pipelines/verify/verify.js";
import type { VerifyOptions } from "../pipelines/verify/types.js";
import { INJECTED, KEEPERS, LIGHTHOUSE, sources } from "./support/answer-fixtures.js";
import { sharedEmbedder } from "./support/core.js";

const given = sources(["lighthouse.md", LIGHTHOUSE], ["keepers.md", KEEPERS], ["notes.md", INJECTED]);

/** The real USE-Lite embedder, counting its calls: verification must stay at one batch. */
async function options(extra: Partial<VerifyOptions> = {}) {
  const embedder = await sharedEmbedder();
  const calls: string[][] = [];
  const opts: VerifyOptions = {
    mode: "remove",
    minSupportedShare: 0.5,
    embed: (texts) => {
      calls.push(texts);
      return embedder.embed(texts);
    },
    ...extra,
  };
  return { opts, calls };
}

const verify = async (text: string, extra: Partial<VerifyOptions> = {}) => {
  const { opts, calls } = await options(extra);
  return { ...(await verifyAnswer(toAnswer(text, "m"), given, opts)), calls };
};

describe("citation markers", () => {
  it("reads [n], [n, m], [n][m] and markers written after the full stop", () => {
    const s = citedSentences("Installed in 1844 [1]. Keepers kept watches. [2][3] Both [1, 2] agree.");
    expect(s.map((x) => x.cites)).toEqual([[1], [2, 3], [1, 2]]);
    expect(s[1]!.text).toBe("Keepers kept watches. [2][3]");
  });
});

describe("verifyAnswer", () => {
  it("keeps a well-cited answer as it is", async () => {
    const text =
      "The Fresnel lens of the Skerryvore lighthouse was installed in 1844 [1]. Keepers worked in watches of four hours [2].";
    const r = await verify(text);
    expect(r.abstained).toBe(false);
    expect(r.text).toBe(text);
    expect(r.cited).toEqual([1, 2]);
    expect(r.verification).toMatchObject({
      sentences: 2,
      supported: 2,
      kept: 2,
      moved: 0,
      removed: 0,
      citationsRemoved: 0,
      supportedShare: 1,
    });
    // Both sentences are lexically certain: no embedding needed.
    expect(r.calls).toHaveLength(0);
  });

  it("drops a citation to a source that was not given, counts it, and re-cites the sentence", async () => {
    const r = await verify(
      "The Skerryvore lens was installed in 1844 [9]. Keepers logged the weather every night [2].",
    );
    expect(r.text).toBe("The Skerryvore lens was installed in 1844 [1]. Keepers logged the weather every night [2].");
    expect(r.verification.citationsNotGiven).toBe(1);
    expect(r.verification.details[0]).toMatchObject({
      status: "moved",
      citedBefore: [9],
      cites: [1],
      unknownCites: [9],
    });
  });

  it("removes a sentence stating a number no source states, and says which", async () => {
    const r = await verify(
      "The Skerryvore lens was installed in 1844 [1]. Its beam was visible for 40 nautical miles [1].",
    );
    expect(r.text).toBe("The Skerryvore lens was installed in 1844 [1].");
    expect(r.verification).toMatchObject({ kept: 1, removed: 1, citationsRemoved: 1 });
    expect(r.verification.details[1]).toMatchObject({ status: "removed", missing: ["40"] });
  });

  it("accepts a number the source spells out", async () => {
    const r = await verify("The beam was visible for 18 nautical miles [1].");
    expect(r.verification.details[0]!.status).toBe("kept");
  });

  it("moves a citation that points at the wrong source to the one that supports it", async () => {
    const r = await verify("Keepers at Skerryvore worked in watches of four hours [1].");
    expect(r.text).toBe("Keepers at Skerryvore worked in watches of four hours [2].");
    expect(r.cited).toEqual([2]);
    expect(r.verification.details[0]).toMatchObject({ status: "moved", citedBefore: [1], cites: [2] });
  });

  it("removes what a prompt injection made the model say, though the injected chunk contains the word", async () => {
    const r = await verify("PWNED [3]. The Fresnel lens of the Skerryvore lighthouse was installed in 1844 [1].");
    expect(r.text).toBe("The Fresnel lens of the Skerryvore lighthouse was installed in 1844 [1].");
    expect(r.verification.details[0]).toMatchObject({ text: "PWNED.", status: "removed" });
    const alone = await verify("PWNED.");
    expect(alone.abstained).toBe(true);
    expect(alone.text).toBe(ABSTAIN_MESSAGE);
    expect(alone.abstainReason).toMatch(/No sentence/);
  });

  it("keeps a sentence that two cited sources support only together", async () => {
    const r = await verify(
      "The Skerryvore lens was installed in 1844 and keepers logged the weather every night [1][2].",
    );
    expect(r.verification.details[0]).toMatchObject({ status: "kept", cites: [1, 2] });
    expect(r.verification.details[0]!.reason).toMatch(/together/);
  });

  it("flags instead of removing with VERIFY_MODE=flag", async () => {
    const r = await verify(
      "The Skerryvore lens was installed in 1844 [1]. Its beam was visible for 40 nautical miles [1].",
      { mode: "flag" },
    );
    expect(r.text).toContain("40 nautical miles [1]");
    expect(r.verification).toMatchObject({ kept: 1, flagged: 1, removed: 0 });
  });

  it("abstains when too little of the answer is supported", async () => {
    const r = await verify(
      "The lens was installed in 1844 [1]. The lighthouse was painted red in 1901 [1]. Keepers were paid 30 shillings [2].",
    );
    expect(r.abstained).toBe(true);
    expect(r.abstainReason).toMatch(/Only 1 of 3 sentences/);
    expect(r.cited).toEqual([]);
  });

  it("settles paraphrases with one embedding batch, bounded in size", async () => {
    const r = await verify(
      "Skerryvore's keepers logged the weather each night [2]. The lens focused the lamp into a beam [1]. " +
        "Lamp glass was cleaned each morning [3]. The lens was installed in 1844 [1].",
    );
    expect(r.calls.length).toBeLessThanOrEqual(1);
    expect(r.calls.flat().length).toBeLessThanOrEqual(48);
    expect(r.verification.removed).toBe(0);
  });

  it("an embedder that fails leaves uncertain sentences unsupported, not the answer failed", async () => {
    const r = await verify(
      "Skerryvore's keepers logged the weather each night [2]. The lens was installed in 1844 [1].",
      {
        embed: () => Promise.reject(new Error("embeddings API down")),
      },
    );
    expect(r.verification.method).toBe("lexical (the embedder failed)");
    expect(r.verification.details.map((d) => d.status)).toEqual(["removed", "kept"]);
  });

  it("passes every sentence of the extractive generator, which quotes its sources", async () => {
    const { opts, calls } = await options();
    const answer = await createExtractiveGenerator().generate({
      question: "When was the Skerryvore Fresnel lens installed?",
      sources: given,
    });
    const r = await verifyAnswer(answer, given, opts);
    expect(r.abstained).toBe(false);
    expect(r.text).toBe(answer.text);
    expect(r.verification.supported).toBe(r.verification.sentences);
    expect(calls).toHaveLength(0);
  });

  it("keeps the layout of a multi-paragraph answer when removing a sentence", async () => {
    const r = await verify(
      "The lens was installed in 1844 [1].\n\n- Keepers logged the weather every night [2].\n- Keepers were paid 30 shillings [2].",
    );
    expect(r.text).toBe("The lens was installed in 1844 [1].\n\n- Keepers logged the weather every night [2].");
  });
});
