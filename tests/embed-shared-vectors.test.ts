import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { memoizeEmbed, textVectorsOf } from "../pipelines/embed/memo.js";
import { LruMap } from "../pipelines/lru.js";
import type { Embedder } from "../pipelines/embed/types.js";
import { indexedFolder, type IndexedFolder } from "./support/pipeline.js";

/** A fake embed that records what reached it: one number per text, its length. */
function recording() {
  const calls: string[][] = [];
  const embed = async (texts: string[]) => {
    calls.push(texts);
    return texts.map((t) => [t.length]);
  };
  return { calls, embed };
}

describe("memoizeEmbed with a shared cache", () => {
  it("embeds a text once across requests, except those kept out", async () => {
    const shared = new LruMap<string, number[]>(10);
    const { calls, embed } = recording();
    const first = memoizeEmbed(embed, { shared, keepOut: new Set(["question one"]) });
    expect(await first(["question one", "a sentence", "a sentence"])).toEqual([[12], [10], [10]]);
    const second = memoizeEmbed(embed, { shared, keepOut: new Set(["question two"]) });
    expect(await second(["question two", "a sentence"])).toEqual([[12], [10]]);
    // The sentence came from the cache; neither question was shared.
    expect(calls).toEqual([["question one", "a sentence"], ["question two"]]);
    expect(shared.get("question one")).toBeUndefined();
    expect(shared.get("question two")).toBeUndefined();
  });

  it("drops the least recently used vector past its limit", () => {
    const shared = new LruMap<string, number[]>(2);
    shared.set("a", [1]);
    shared.set("b", [2]);
    expect(shared.get("a")).toEqual([1]);
    shared.set("c", [3]);
    expect(shared.get("b")).toBeUndefined();
    expect(shared.get("a")).toEqual([1]);
    expect(shared.get("c")).toEqual([3]);
    expect(shared.size).toBe(2);
  });

  it("is one cache per embedder object", () => {
    const a = {} as Embedder;
    const b = {} as Embedder;
    expect(textVectorsOf(a)).toBe(textVectorsOf(a));
    expect(textVectorsOf(a)).not.toBe(textVectorsOf(b));
    // TEXT_VECTOR_CACHE=0: none, each answer embeds its own.
    expect(textVectorsOf({} as Embedder, 0)).toBeUndefined();
  });
});

// The real service: USE-Lite, PGlite, the extractive generator.
describe("/ask shares the vectors of document sentences across answers", () => {
  let folder: IndexedFolder;
  beforeAll(async () => {
    folder = await indexedFolder(
      {
        "tea.md":
          "# Tea\n\nGreen tea is steeped at about 80 degrees Celsius for two minutes.\n\nBlack tea needs boiling water.\n",
        "owls.md": "# Owls\n\nA barn owl hunts by sound in complete darkness.\n",
      },
      "rag-shared-vectors-",
    );
  });
  afterAll(() => folder.close());

  it("a second question about the same passage embeds only itself, and its answer is unchanged", async () => {
    const embedder = folder.core.runtime.current().embedder;
    const embedded: string[] = [];
    const embed = embedder.embed.bind(embedder);
    embedder.embed = (texts, opts) => {
      embedded.push(...texts);
      return embed(texts, opts);
    };
    const { pipeline } = folder;
    const q1 = "At what temperature is green tea steeped?";
    const q2 = "How hot should the water be for green tea?";
    const first = await pipeline.ask(q1, { cache: false });
    expect(first.status).toBe(200);
    expect(first.body.abstained).toBe(false);
    await pipeline.deps.metricsQueue!.drain();
    const beforeSecond = embedded.length;

    const second = await pipeline.ask(q2, { cache: false });
    expect(second.status).toBe(200);
    // During the request (its metrics come later): the question, and nothing the first answer embedded.
    expect(embedded.slice(beforeSecond)).toEqual([q2]);
    await pipeline.deps.metricsQueue!.drain();

    const cache = textVectorsOf(embedder)!;
    expect(cache.get(q1)).toBeUndefined();
    expect(cache.get(q2)).toBeUndefined();
    // A cached vector is the one the embedder computes, so no answer can differ by it.
    const sentence = "Green tea is steeped at about 80 degrees Celsius for two minutes.";
    const cached = cache.get(sentence);
    expect(cached).toBeDefined();
    expect(await embed([sentence])).toEqual([cached]);
  });
});
