import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { cyclePath, importCycles, importGraph } from "./support/import-graph.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const graph = importGraph(ROOT, ["pipelines", "services", "schemas", "bench"]);

/**
 * Layers import downward only: pipelines (the domain) never import services; services/common (what
 * every process shares) and the CLI commands never import a process (api, worker, watcher, ...).
 */
function isUpward(from: string, to: string): boolean {
  if (from.startsWith("pipelines/")) {
    return to.startsWith("services/");
  }
  if (from.startsWith("services/common/") || from.startsWith("services/cli/")) {
    return (
      /^services\/(api|worker|watcher|mcp|all-in-one)\//.test(to) ||
      (from.startsWith("services/common/") && to.startsWith("services/cli/"))
    );
  }
  return false;
}

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

  it("imports only downward: pipelines never import services, services/common and the CLI never import a process", () => {
    const upward = [...graph].flatMap(([from, targets]) =>
      targets.filter((to) => isUpward(from, to)).map((to) => `${from} → ${to}`),
    );
    expect(upward).toEqual([]);
  });

  it("the downward rule catches each kind of upward import", () => {
    expect(isUpward("pipelines/answer/ask.ts", "services/common/deps.ts")).toBe(true);
    expect(isUpward("services/common/admin.ts", "services/api/errors.ts")).toBe(true);
    expect(isUpward("services/common/deps.ts", "services/watcher/watcher.ts")).toBe(true);
    expect(isUpward("services/cli/ingest.ts", "services/worker/main.ts")).toBe(true);
    expect(isUpward("services/cli/eval-suite.ts", "services/api/app.ts")).toBe(true);
    expect(isUpward("services/cli/eval-suite.ts", "services/watcher/watcher.ts")).toBe(true);
    expect(isUpward("services/cli/ingest.ts", "services/common/ingest-worker.ts")).toBe(false);
    expect(isUpward("services/api/main.ts", "services/common/answerers.ts")).toBe(false);
  });
});
