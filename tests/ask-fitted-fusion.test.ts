import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SearchOptions } from "../pipelines/store/types.js";
import type { CoreDeps } from "../services/common/deps.js";
import { indexedFolder, type startPipeline, type IndexedFolder } from "./support/pipeline.js";

// /ask reads the fusion a generation was fitted with (npm run eval -- --fit): weight and depth.
let core: CoreDeps;
let pipeline: Awaited<ReturnType<typeof startPipeline>>;
let folder: IndexedFolder;
const seen: Array<{ kind: string; opts: SearchOptions & { documentWeight?: number } }> = [];

beforeAll(async () => {
  folder = await indexedFolder(
    { "tea.md": "# Tea\n\nGreen tea is steeped at about 80 degrees Celsius for two minutes.\n" },
    "rag-fitted-fusion-",
  );
  ({ core, pipeline } = folder);
  // Spy on what retrieval asks the store for.
  const store = core.store;
  const dense = store.searchDense.bind(store);
  const lexical = store.searchLexical.bind(store);
  store.searchDense = (v, opts) => {
    seen.push({ kind: "dense", opts });
    return dense(v, opts);
  };
  store.searchLexical = (q, opts) => {
    seen.push({ kind: "lexical", opts });
    return lexical(q, opts);
  };
});
afterAll(async () => {
  await folder.close();
});

describe("/ask on a fitted generation", () => {
  it("fetches the default depth before a fit, and the fitted depth and document blend after", async () => {
    seen.length = 0;
    await pipeline.ask("At what temperature is green tea steeped?");
    expect(seen.map((s) => s.opts.topK)).toEqual([120, 120]); // 3 × topK 8 re-ranked, 5 × that fetched

    await core.catalog.setGenerationFusion(core.runtime.current().generation.id, {
      denseWeight: 0.25,
      documentWeight: 0.85,
      fittedOn: "test (1 query)",
      ndcg10: 1,
      bestSingle: { retriever: "lexical", ndcg10: 0.9 },
      candidates: 300,
      fittedAt: new Date().toISOString(),
    });
    seen.length = 0;
    const { status, body } = await pipeline.ask("At what temperature is green tea steeped?");
    expect(status).toBe(200);
    expect(body.answer).toContain("80 degrees");
    // Lexical search runs while the question embeds: the order of the two calls is not part of the contract.
    const calls = seen.map((s) => [s.kind, s.opts.topK, s.opts.documentWeight]);
    expect(calls.sort((a, b) => String(a[0]).localeCompare(String(b[0])))).toEqual([
      ["dense", 300, 0.85],
      ["lexical", 300, 0.85],
    ]);
  });
});
