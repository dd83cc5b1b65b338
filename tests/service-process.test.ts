import { copyFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePort, ROOT, startService, type ServiceProcess } from "./support/process.js";
import { tempDir } from "./support/temp-dir.js";

// The whole product as a user runs it: `npm start` on the embedded default, a file copied into the
// watched folder, and /ask over real HTTP. The measured lag is printed, not asserted on a stopwatch;
// the 10 s bound is the product promise, so the poll gives up there.
describe("npm start (all-in-one process)", () => {
  const work = tempDir("rag-proc-");
  const docs = join(work, "docs");
  let svc: ServiceProcess | undefined;
  afterAll(async () => {
    await svc?.stop();
  });

  it("serves /healthz, becomes ready, cites a newly copied Markdown file within 10 s, and stops on SIGTERM", async () => {
    const { mkdirSync } = await import("node:fs");
    mkdirSync(docs);
    copyFileSync(join(ROOT, "docs/evaluating-rag.md"), join(docs, "evaluating-rag.md"));
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    svc = startService("services/all-in-one/main.ts", {
      PORT: String(port),
      DATA_DIR: join(work, "data"),
      WATCH_DIRS: docs,
    });

    const until = async (fn: () => Promise<boolean>, ms: number) => {
      const deadline = Date.now() + ms;
      while (Date.now() < deadline) {
        if (await fn().catch(() => false)) {
          return true;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      return false;
    };
    expect(await until(async () => (await fetch(`${base}/healthz`)).ok, 30_000), svc.output()).toBe(true);
    expect(await until(async () => (await fetch(`${base}/readyz`)).status === 200, 60_000), svc.output()).toBe(true);

    const markdown =
      "# Glacier survey\n\nThe Vatnajökull survey of 2023 measured an average ice thickness of " +
      "nine hundred metres across the plateau, using ground-penetrating radar towed by snowmobiles.\n";
    const started = Date.now();
    writeFileSync(join(work, "glacier.md"), markdown);
    copyFileSync(join(work, "glacier.md"), join(docs, "glacier.md"));
    let body: any;
    const cited = await until(async () => {
      const res = await fetch(`${base}/ask`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ question: "What ice thickness did the Vatnajökull survey measure?" }),
      });
      body = await res.json();
      return body.citations?.some((c: { path: string }) => c.path === "glacier.md") ?? false;
    }, 10_000);
    const lagMs = Date.now() - started;
    console.log(`copy → cited by /ask: ${lagMs} ms`);
    expect(cited, svc.output()).toBe(true);
    expect(body.abstained).toBe(false);
    expect(body.answer).toContain("nine hundred metres");

    expect(await svc.stop()).toBe(0);
    expect(svc.output()).toMatch(/SIGTERM received, shutting down/);
  }, 120_000);
});
