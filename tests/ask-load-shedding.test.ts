import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Generator } from "../pipelines/generate/types.js";
import { createAdmission } from "../services/api/admission.js";
import { indexedFolder, type IndexedFolder } from "./support/pipeline.js";

let folder: IndexedFolder;
beforeAll(async () => {
  folder = await indexedFolder(
    { "tea.md": "# Tea\n\nGreen tea is steeped at about 80 degrees Celsius for two minutes.\n" },
    "rag-shed-",
  );
});
afterAll(() => folder.close());

const QUESTION = "At what temperature is green tea steeped?";
const post = (body: unknown) =>
  folder.pipeline.app.request("/ask", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

describe("load shedding (MAX_ANSWERS_IN_FLIGHT)", () => {
  it("above the bound: 503 overloaded with Retry-After at once; the answer in flight completes; then answers again", async () => {
    const { deps } = folder.pipeline;
    const original = deps.generator;
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    let entered!: () => void;
    const generating = new Promise<void>((r) => (entered = r));
    // The first answer holds its slot inside generation until the test lets it go.
    const held: Generator = Object.create(original, {
      generate: {
        value: async (req: Parameters<Generator["generate"]>[0]) => {
          entered();
          await gate;
          return original.generate(req);
        },
      },
    });
    deps.generator = held;
    deps.admission = createAdmission(1);
    try {
      const first = post({ question: QUESTION });
      await generating;
      expect(deps.admission.inFlight).toBe(1);
      const refused = await post({ question: QUESTION });
      expect(refused.status).toBe(503);
      expect(refused.headers.get("retry-after")).toBe("1");
      expect(((await refused.json()) as any).error.code).toBe("overloaded");
      // A streamed request is refused the same way, before its stream starts.
      const streamRefused = await post({ question: QUESTION, stream: true });
      expect(streamRefused.status).toBe(503);
      // Bad input is still a 400, whatever the load: validation comes first.
      expect((await post({ question: "" })).status).toBe(400);
      open();
      expect((await first).status).toBe(200);
      expect(deps.admission.inFlight).toBe(0);
      expect((await post({ question: QUESTION })).status).toBe(200);
      // A stream holds its slot until it ends, and gives it back.
      const streamed = await post({ question: QUESTION, stream: true });
      expect(await streamed.text()).toContain("event: done");
      expect(deps.admission.inFlight).toBe(0);
      const text = await (await folder.pipeline.app.request("/metrics")).text();
      expect(text).toMatch(/rag_ask_shed_total 2/);
    } finally {
      deps.generator = original;
      deps.admission = createAdmission(16);
    }
  });

  it("a failing answer gives its slot back", async () => {
    const { deps } = folder.pipeline;
    const original = deps.generator;
    deps.generator = Object.create(original, {
      generate: { value: async () => Promise.reject(new Error("model exploded")) },
    });
    deps.admission = createAdmission(1);
    try {
      expect((await post({ question: QUESTION })).status).toBe(500);
      expect(deps.admission.inFlight).toBe(0);
    } finally {
      deps.generator = original;
      deps.admission = createAdmission(16);
    }
  });
});
