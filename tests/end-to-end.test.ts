import { copyFileSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { makeCore, type DbMode } from "./support/core.js";
import { startPipeline, waitFor } from "./support/pipeline.js";
import { tempDir } from "./support/temp-dir.js";

const DOCS = new URL("../docs/", import.meta.url).pathname;

// The same file-in, cited-answer-out path on both database drivers.
describe.each<DbMode>(["pglite", "pg-socket"])("end to end on %s", (mode) => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    while (cleanups.length) {
      await cleanups.pop()!();
    }
  });

  async function setup() {
    const dir = tempDir("rag-watch-");
    const { core, cleanup } = await makeCore(mode);
    const pipeline = await startPipeline(core, [dir]);
    cleanups.push(async () => {
      await pipeline.stop();
      await cleanup();
    });
    return { dir, core, pipeline };
  }

  it("indexes what is already in the folder at start-up and cites it", async () => {
    const dir = tempDir("rag-watch-");
    copyFileSync(join(DOCS, "tokens-and-context-windows.txt"), join(dir, "tokens.txt"));
    const { core, cleanup } = await makeCore(mode);
    const pipeline = await startPipeline(core, [dir]);
    cleanups.push(async () => {
      await pipeline.stop();
      await cleanup();
    });
    await pipeline.queue.idle();

    const { status, body } = await pipeline.ask("What is byte-pair encoding?");
    expect(status).toBe(200);
    expect(body.abstained).toBe(false);
    expect(body.citations.map((c: { path: string }) => c.path)).toContain("tokens.txt");
    expect(body.answer).toMatch(/\[\d+\]/);
    expect(body.queryId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("a Markdown file added to the watched folder is cited by /ask", async () => {
    const { dir, core, pipeline } = await setup();
    writeFileSync(
      join(dir, "lighthouse.md"),
      "# Lighthouse keeping\n\n## Lamps\n\nThe Fresnel lens of the Skerryvore lighthouse was installed in 1844 " +
        "and focused the lamp into a beam visible for eighteen nautical miles.\n\n" +
        "## Keepers\n\nKeepers worked in watches of four hours and logged the weather every night.\n",
    );
    const body = await waitFor(async () => {
      const r = await pipeline.ask("When was the Skerryvore Fresnel lens installed?");
      return r.body.citations?.some((c: { path: string }) => c.path === "lighthouse.md") ? r.body : null;
    });
    expect(body.abstained).toBe(false);
    expect(body.answer).toContain("1844");
    const citation = body.citations.find((c: { path: string }) => c.path === "lighthouse.md");
    expect(citation.headingPath).toEqual(["Lighthouse keeping", "Lamps"]);
    expect(citation.snippet).toContain("Fresnel");
    const doc = await core.catalog.getDocument(citation.sourceId, "lighthouse.md");
    expect(doc?.status).toBe("indexed");
    expect(doc?.id).toBe(citation.documentId);
  });

  it("HTML and plain text are ingested; deleting a file removes it from answers", async () => {
    const { dir, pipeline } = await setup();
    writeFileSync(
      join(dir, "page.html"),
      "<html><head><title>Orchards</title><script>var apples = 'Gravenstein';</script></head><body>" +
        "<nav>Home | Orchards | Contact</nav><main><h1>Orchards</h1><p>The Gravenstein apple ripens in " +
        "late July and is best pressed into cider within a week of picking.</p></main>" +
        "<footer>Copyright Orchard Club</footer></body></html>",
    );
    writeFileSync(
      join(dir, "notes.txt"),
      "Quinces must be cooked before eating because raw quince flesh is hard and astringent.\n",
    );
    const ask = (q: string) => pipeline.ask(q).then((r) => r.body);
    const html = await waitFor(async () => {
      const b = await ask("When does the Gravenstein apple ripen?");
      return b.citations?.some((c: { path: string }) => c.path === "page.html") ? b : null;
    });
    expect(html.answer).toContain("late July");
    expect(html.answer).not.toContain("Copyright");
    const txt = await waitFor(async () => {
      const b = await ask("Why must quinces be cooked?");
      return b.citations?.some((c: { path: string }) => c.path === "notes.txt") ? b : null;
    });
    expect(txt.answer).toContain("astringent");

    unlinkSync(join(dir, "notes.txt"));
    await waitFor(async () => {
      const b = await ask("Why must quinces be cooked?");
      return !b.citations.some((c: { path: string }) => c.path === "notes.txt");
    });
  });

  it("abstains when nothing in the index answers the question, and logs the query", async () => {
    const { dir, core, pipeline } = await setup();
    writeFileSync(
      join(dir, "a.md"),
      "# Bees\n\nHoney bees communicate the direction of flowers with a waggle dance.\n",
    );
    await waitFor(async () => (await core.catalog.countDocuments()).indexed === 1);
    const { status, body } = await pipeline.ask("What is the boiling point of tungsten?");
    expect(status).toBe(200);
    expect(body.abstained).toBe(true);
    expect(body.citations).toEqual([]);
    const rows = await core.database.db.query.queryLog.findMany();
    expect(rows.map((r) => r.id)).toContain(body.queryId);
  });
});
