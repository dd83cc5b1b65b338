import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { cyclePath, importCycles, importGraph } from "./support/import-graph.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const graph = importGraph(ROOT, ["pipelines", "services", "schemas", "bench"]);

describe("the import graph", () => {
  it("has no file that imports another that imports it back", () => {
    expect(importCycles(graph).map((c) => cyclePath(graph, c))).toEqual([]);
  });

  it("finds the cycles it is there to find", () => {
    // A walker that resolved nothing would pass the test above: it must see the real imports.
    expect(graph.get("services/api/app.ts")).toContain("services/api/routes/ask.ts");
    expect(graph.get("services/common/deps.ts")).toContain("services/common/index-runtime.ts");
    const made = new Map([
      ["a.ts", ["b.ts"]],
      ["b.ts", ["c.ts"]],
      ["c.ts", ["a.ts"]],
      ["d.ts", ["a.ts"]],
    ]);
    expect(importCycles(made)).toEqual([["a.ts", "b.ts", "c.ts"]]);
    expect(cyclePath(made, ["a.ts", "b.ts", "c.ts"])).toBe("a.ts → b.ts → c.ts → a.ts");
  });

  it("imports only downward: pipelines never import services, services/common never imports a process", () => {
    const upward = [...graph].flatMap(([from, targets]) =>
      targets
        .filter(
          (to) =>
            (from.startsWith("pipelines/") && to.startsWith("services/")) ||
            (from.startsWith("services/common/") && /^services\/(api|worker|watcher|cli|all-in-one)\//.test(to)),
        )
        .map((to) => `${from} → ${to}`),
    );
    expect(upward).toEqual([]);
  });
});
