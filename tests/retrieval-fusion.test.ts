import { createHash } from "node:crypto";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Embedder } from "../pipelines/embed/types.js";
import { defaultDenseWeight, minMaxFusion, retrieve, rrfFusion } from "../pipelines/retrieve/hybrid.js";
import { createCatalog } from "../pipelines/store/catalog.js";
import { openDatabase, queryRows, type Database } from "../pipelines/store/database.js";
import { createPgvectorStore } from "../pipelines/store/pgvector-store.js";
import type { VectorStore } from "../pipelines/store/types.js";
import { sharedEmbedder } from "./support/core.js";
import { migratedTemplate } from "./support/pglite-template.js";

describe("fusion functions", () => {
  const dense = [
    { id: "a", score: 0.9 },
    { id: "b", score: 0.5 },
    { id: "c", score: 0.1 },
  ];
  const lexical = [
    { id: "c", score: 12 },
    { id: "d", score: 4 },
  ];

  it("min-max scales each list to [0, 1] and weighs it; a missing side counts 0", () => {
    const fused = minMaxFusion(dense, lexical, 0.3);
    expect(fused.get("a")).toBeCloseTo(0.3, 12);
    expect(fused.get("b")).toBeCloseTo(0.3 * 0.5, 12);
    expect(fused.get("c")).toBeCloseTo(0.7, 12);
    expect(fused.get("d")).toBeCloseTo(0, 12);
    // Weight 0 keeps the lexical order and still lists dense-only hits (at 0).
    expect([...minMaxFusion(dense, lexical, 0)].sort((x, y) => y[1] - x[1])[0]![0]).toBe("c");
    expect(minMaxFusion([{ id: "x", score: 3 }], [], 0.5).get("x")).toBe(0.5);
  });

  it("weighted reciprocal rank fusion adds weight / (k + rank)", () => {
    const fused = rrfFusion(dense, lexical, 0.25, 60);
    expect(fused.get("a")).toBeCloseTo(0.25 / 61, 15);
    expect(fused.get("c")).toBeCloseTo(0.25 / 63 + 0.75 / 61, 15);
    expect(fused.get("d")).toBeCloseTo(0.75 / 62, 15);
  });

  it("use-lite's default weight is the one fitted on SciFact train", () => {
    expect(defaultDenseWeight("use-lite")).toBe(0.2);
    expect(defaultDenseWeight("openai")).toBe(0.5);
  });
});

describe("retrieve() over the store's BM25 and pgvector", () => {
  let database: Database;
  let store: VectorStore;
  let embedder: Embedder;
  let generationId: number;

  beforeAll(async () => {
    database = await openDatabase({ startFrom: await migratedTemplate() });
    await database.migrate();
    embedder = await sharedEmbedder();
    store = createPgvectorStore(database.db);
    const catalog = createCatalog(database.db);
    const [g] = await queryRows<{ id: number }>(
      database.db,
      sql`
      INSERT INTO index_generations (embedder_key, embedder, chunker, status)
      VALUES ('use-lite-test', '{"dimensions":512}'::jsonb, '{}'::jsonb, 'active') RETURNING id`,
    );
    generationId = g!.id;
    await store.prepareGeneration(generationId, 512);
    const source = await catalog.upsertSource("/retrieval", "default");
    const texts: Record<string, string[]> = {
      "yeast.md": [
        "Zymase is the enzyme complex in yeast that ferments sugar into ethanol.",
        "Brewers pitch yeast into cooled wort.",
      ],
      "lamps.md": ["The Fresnel lens focuses a lighthouse lamp into a beam.", "Keepers trimmed the wicks every night."],
      "copy.md": ["Zymase is the enzyme complex in yeast that ferments sugar into ethanol."],
    };
    for (const [path, chunks] of Object.entries(texts)) {
      const doc = await catalog.ensureDocument(source, path, "default");
      const vectors = await embedder.embed(chunks);
      await store.replaceDocumentChunks(
        generationId,
        { documentId: doc.id, collection: "default" },
        chunks.map((text, i) => ({
          ordinal: i,
          text,
          textHash: createHash("sha256").update(text).digest("hex"),
          embedding: vectors[i]!,
          start: i * 100,
          end: i * 100 + text.length,
          page: null,
          headingPath: [],
          tokenCount: 12,
        })),
      );
    }
  });
  afterAll(async () => {
    await database?.close();
  });

  it("puts the lexical match first, drops the verbatim copy, and keeps both scores", async () => {
    for (const denseWeight of [0, defaultDenseWeight("use-lite"), 0.5]) {
      const hits = await retrieve({ store, embedder }, "What does zymase do?", { generationId, topK: 4, denseWeight });
      expect(hits[0]!.text).toContain("Zymase");
      expect(hits[0]!.lexical).toBeGreaterThan(0);
      expect(hits[0]!.dense).not.toBeNull();
      expect(hits.filter((h) => h.text.startsWith("Zymase"))).toHaveLength(1);
      expect(hits.map((h) => h.score)).toEqual([...hits.map((h) => h.score)].sort((a, b) => b - a));
    }
  });

  it("with no lexical match, dense hits still answer", async () => {
    const hits = await retrieve({ store, embedder }, "beacon optics at sea", { generationId, topK: 3, denseWeight: 0 });
    expect(hits.length).toBe(3);
    expect(hits.every((h) => h.lexical === null)).toBe(true);
  });
});
