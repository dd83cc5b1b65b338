import { mkdirSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createExtractiveGenerator } from "../pipelines/generate/extractive.js";
import { createApp } from "../services/api/app.js";
import type { ApiDeps } from "../services/api/context.js";
import { closeServer, listen } from "../services/api/server.js";
import { parseApiKeys } from "../services/common/api-keys.js";
import { createMetrics } from "../services/common/metrics.js";
import { createInProcessQueue } from "../services/common/queue/in-process.js";
import { createSourceWatcher } from "../services/watcher/watcher.js";
import { createWorker } from "../services/common/ingest-worker.js";
import { buildWeb, FIRST_VISIT_JS_BUDGET } from "../web/build.js";
import { chromiumPresent, CHROMIUM, launchChromium } from "./support/browser.js";
import { makeCore, quietLog } from "./support/core.js";
import { apiConfig } from "./support/pipeline.js";
import { makePdf } from "./support/pdf.js";
import { tempDir } from "./support/temp-dir.js";
import { createLexicalReranker } from "../pipelines/rerank/lexical.js";

const ADMIN_KEY = "k_admin_0123456789abcdef";
const ALPHA_KEY = "k_alpha_0123456789abcdef";
const BETA_KEY = "k_beta_0123456789abcdefg";
// The suite's screenshots go to the README's folder only when asked: `npm test` must not dirty the tree.
const SHOTS = process.env.UPDATE_SCREENSHOTS
  ? new URL("../web/screenshots/", import.meta.url).pathname
  : tempDir("rag-shots-");

const LIGHTHOUSE =
  "# Lighthouse keeping\n\n## Lamps\n\nThe Fresnel lens of the Skerryvore lighthouse was installed in 1844 " +
  "and focused the lamp into a beam visible for eighteen nautical miles.\n\n" +
  "## Keepers\n\nKeepers worked in watches of four hours and logged the weather every night.\n";
// Markup in a document is text to show, never code to run.
const HOSTILE =
  "# Greenhouse notes\n\nThe greenhouse thermostat is set to eighteen degrees during winter nights " +
  "<img src=x onerror=\"window.__pwned=1;alert('img')\"> and the heater runs on timers.\n\n" +
  "<script>window.__pwned=2;alert('script')</script>\n\nThe greenhouse vents open automatically above twenty-five degrees.\n";

// Records what #answer showed while the answer was still streaming (aria-busy=true).
const OBSERVE_ANSWER = `
  window.__answerSeen = [];
  new MutationObserver(() => {
    const a = document.getElementById("answer");
    if (a) window.__answerSeen.push({ busy: a.getAttribute("aria-busy"), text: a.textContent });
  }).observe(document, { subtree: true, childList: true, characterData: true, attributes: true });
`;

// A real browser and a real model on two shared cores: generous limits, though a quiet machine needs far less.
describe("web app, end to end in Chromium", { timeout: 120_000 }, () => {
  let base = "";
  let alphaDir = "";
  const cleanups: Array<() => Promise<void> | void> = [];
  const cspViolations: string[] = [];
  const pageErrors: string[] = [];
  const dialogs: string[] = [];
  const keysInUrls: string[] = [];
  let browser: Awaited<ReturnType<typeof launchChromium>>;

  beforeAll(async () => {
    if (!chromiumPresent()) {
      throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium; .ci/run does).`);
    }
    mkdirSync(SHOTS, { recursive: true });
    // Chromium starts while the folders are indexed: both take seconds on a busy machine.
    const launching = launchChromium();
    // Its own build folder: a concurrent `npm start` may be rebuilding web/dist.
    const webDir = tempDir("rag-web-dist-");
    const built = await buildWeb(webDir);
    expect(built.firstVisitJs.gzipBytes).toBeLessThan(FIRST_VISIT_JS_BUDGET);
    console.log(
      `web: first visit JavaScript ${(built.firstVisitJs.gzipBytes / 1024).toFixed(1)} kB gzipped (${built.firstVisitJs.files.join(", ")})`,
    );

    alphaDir = tempDir("rag-web-alpha-");
    const betaDir = tempDir("rag-web-beta-");
    writeFileSync(
      join(alphaDir, "harbour.pdf"),
      makePdf([
        "Harbour opening hours\nThe harbour office opens at seven in the morning.",
        "Pilotage\nThe harbour pilot boards incoming ships at the outer buoy two miles south of the breakwater.",
      ]),
    );
    writeFileSync(join(alphaDir, "greenhouse.md"), HOSTILE);
    writeFileSync(join(alphaDir, "blank.md"), "   \n\n");
    writeFileSync(
      join(betaDir, "orchard.txt"),
      "The Gravenstein apple ripens in late July and is pressed into cider within a week.\n",
    );
    const { core, cleanup } = await makeCore("pglite");
    const queue = createInProcessQueue({ backoffScale: 0.01 });
    const metrics = createMetrics({ queue: () => queue });
    createWorker({ core, queue, log: quietLog, maxFileBytes: 1_000_000, metrics }).start();
    const watcher = createSourceWatcher({
      catalog: core.catalog,
      queue,
      log: quietLog,
      dirs: [
        { dir: alphaDir, collection: "alpha" },
        { dir: betaDir, collection: "beta" },
      ],
      collection: "default",
      maxFileBytes: 1_000_000,
      stabilityMs: 100,
    });
    await watcher.start();
    await queue.idle();
    const API_KEYS = parseApiKeys(`${ADMIN_KEY}:ask,ingest,admin:*;${ALPHA_KEY}:ask:alpha;${BETA_KEY}:ask:beta`);
    const deps: ApiDeps = {
      config: { ...apiConfig, API_KEYS },
      log: quietLog,
      generator: createExtractiveGenerator(),
      reranker: createLexicalReranker(),
      core,
      queue,
      metrics,
      webDir,
    };
    const server = await listen(createApp(deps).fetch, 0, "127.0.0.1");
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await launching;
    cleanups.push(
      () => browser.close(),
      () => closeServer(server),
      () => watcher.close(),
      () => queue.close(),
      cleanup,
    );
  }, 180_000);

  afterAll(async () => {
    for (const c of cleanups) {
      await c();
    }
  });

  async function openWithKey(key: string, hash = "#/ask"): Promise<Page> {
    const page = await browser.context.newPage();
    page.on("console", (m) => {
      if (m.type() === "error" && /Content Security Policy/i.test(m.text())) {
        cspViolations.push(m.text());
      }
    });
    page.on("pageerror", (e) => pageErrors.push(e.message));
    page.on("request", (r) => {
      if ([ADMIN_KEY, ALPHA_KEY, BETA_KEY].some((k) => r.url().includes(k))) {
        keysInUrls.push(r.url());
      }
    });
    page.on("dialog", (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await page.addInitScript(OBSERVE_ANSWER);
    await page.goto(`${base}/${hash}`);
    // Authentication is on: the app asks for the key once and keeps it for the tab.
    await page.locator("#api-key").fill(key);
    await page.locator("#api-key").press("Enter");
    await page
      .locator("#who")
      .getByText(/Key env_/)
      .waitFor();
    return page;
  }

  async function ask(page: Page, question: string, collection = "") {
    await page.goto(`${base}/#/ask`);
    await page.locator("#question").fill(question);
    if (collection) {
      await page.locator("#collection").selectOption(collection);
    }
    await page.locator("#ask-button").click();
    await page
      .locator("#ask-status")
      .getByText(/^(Answered|Abstained) in/)
      .waitFor();
  }

  it("serves the page without a key, with a strict policy and no inline code", async () => {
    const res = await fetch(`${base}/`);
    expect(res.status).toBe(200);
    const csp = res.headers.get("content-security-policy")!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain("unsafe-inline");
    const html = await res.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)/);
    expect(html).not.toMatch(/\sstyle=/);
  });

  it("a dropped file turns indexed on Sources; ask streams an answer with [1]; its card and source viewer show the passage; feedback is counted on Quality", async () => {
    const page = await openWithKey(ADMIN_KEY, "#/sources");
    await page.locator('tr[data-path="harbour.pdf"][data-status="indexed"]').waitFor();
    await expect(page.locator("#reindex-button").count()).resolves.toBe(1);
    // Dropped while the page is open: it appears and turns indexed without a reload.
    writeFileSync(join(alphaDir, "lighthouse.md"), LIGHTHOUSE);
    await page
      .locator('tr[data-path="lighthouse.md"][data-status="indexed"]', { hasText: "lighthouse.md" })
      .waitFor({ timeout: 20_000 });
    expect(await page.locator("#count-indexed").textContent()).toBe("4");
    // A file that cannot be indexed is listed with its reason.
    await page.locator("#failed-docs li", { hasText: "blank.md" }).getByText("empty_document").waitFor();
    expect(await page.locator("#failed-docs li", { hasText: "blank.md" }).textContent()).toContain("only whitespace");
    await page.screenshot({ path: join(SHOTS, "sources.png"), fullPage: true });

    await ask(page, "When was the Skerryvore Fresnel lens installed?");
    const seen = (await page.evaluate("window.__answerSeen")) as Array<{ busy: string; text: string }>;
    expect(seen.some((s) => s.busy === "true" && /\[1\]/.test(s.text))).toBe(true);
    const answer = await page.locator("#answer").textContent();
    expect(answer).toContain("1844");
    const one = page.locator('#answer a.cite[data-n="1"]').first();
    await one.hover();
    await page.locator("#cite-card").getByText("Fresnel", { exact: false }).waitFor();
    expect(await page.locator("#cite-card").textContent()).toContain("lighthouse.md");
    expect(await page.locator("#cite-card").textContent()).toContain("Lighthouse keeping › Lamps");
    // The why panel lists each sentence's verification.
    await page.locator("#why summary").click();
    expect(await page.locator("#why .badge").first().textContent()).toMatch(/kept|moved|removed|flagged/);
    await one.hover();
    await page.screenshot({ path: join(SHOTS, "ask.png"), fullPage: true });

    await one.click();
    await page.waitForURL(/#\/source\/[0-9a-f-]{36}\?chunk=/);
    const mark = page.locator("mark#cited");
    await mark.waitFor();
    expect(await mark.textContent()).toContain("Fresnel lens of the Skerryvore");
    const box = (await mark.boundingBox())!;
    expect(box.y).toBeGreaterThanOrEqual(0);
    expect(box.y).toBeLessThan(860);

    await page.goBack();
    await page.locator("#feedback-comment").fill("Exactly what I needed");
    await page.locator("#thumbs-up").click();
    await page.locator("#feedback-status").getByText("recorded").waitFor();

    await page.goto(`${base}/#/quality`);
    await page.locator("#q-feedback").getByText("1 up").waitFor();
    await page.locator("#recent-rows").getByText("Exactly what I needed").waitFor();
    await page.locator("#chart-metrics canvas").waitFor();
    await page.locator("#eval-reports .eval").first().waitFor();
    await page.screenshot({ path: join(SHOTS, "quality.png"), fullPage: true });
  });

  it("a PDF citation opens the PDF at its page and highlights the passage in the extracted text", async () => {
    const page = await openWithKey(ALPHA_KEY);
    await ask(page, "Where does the harbour pilot board incoming ships?");
    const cite = page.locator("#sources a", { hasText: "harbour.pdf, page 2" }).first();
    await cite.click();
    await page.waitForURL(/page=2/);
    await page.locator("mark#cited").getByText("outer buoy", { exact: false }).waitFor();
    expect(await page.locator("#pdf-frame").getAttribute("src")).toMatch(/^blob:.*#page=2$/);
    expect(await page.locator("#pdf-link").getAttribute("href")).toMatch(/#page=2$/);
    // A key for alpha only: no re-index button.
    await page.goto(`${base}/#/sources`);
    await page.locator('tr[data-path="harbour.pdf"]').waitFor();
    expect(await page.locator("#reindex-button").count()).toBe(0);
  });

  it("from the keyboard at 375 px: focus [n] shows its card, Enter opens the source; nothing overflows", async () => {
    const page = await openWithKey(ALPHA_KEY);
    await page.setViewportSize({ width: 375, height: 800 });
    await ask(page, "When was the Skerryvore Fresnel lens installed?", "alpha");
    const widest = (await page.evaluate("document.documentElement.scrollWidth")) as number;
    expect(widest).toBeLessThanOrEqual(375);
    await page.locator('#answer a.cite[data-n="1"]').first().focus();
    expect(await page.locator("#cite-card").isVisible()).toBe(true);
    await page.keyboard.press("Enter");
    await page.locator("mark#cited").waitFor();
    expect((await page.evaluate("document.documentElement.scrollWidth")) as number).toBeLessThanOrEqual(375);
  });

  it("a key of another collection gets nothing of the first, in answers, lists or the source route", async () => {
    const page = await openWithKey(BETA_KEY);
    await ask(page, "When was the Skerryvore Fresnel lens installed?");
    expect(await page.locator("#answer").textContent()).not.toContain("1844");
    expect(await page.locator("#sources").textContent()).not.toMatch(/lighthouse|harbour|greenhouse/);
    await page.goto(`${base}/#/sources`);
    await page.locator('tr[data-path="orchard.txt"]').waitFor();
    expect(await page.locator("#documents").textContent()).not.toMatch(/lighthouse|harbour|greenhouse/);
    const alphaDocs = (await (
      await fetch(`${base}/documents?collection=alpha`, { headers: { authorization: `Bearer ${ALPHA_KEY}` } })
    ).json()) as {
      documents: Array<{ id: string }>;
    };
    for (const d of alphaDocs.documents) {
      const res = await fetch(`${base}/documents/${d.id}/content?view=text`, {
        headers: { authorization: `Bearer ${BETA_KEY}` },
      });
      expect(res.status).toBe(404);
    }
    // The viewer, opened on another tenant's document id, shows the 404 and nothing of it.
    await page.goto(`${base}/#/source/${alphaDocs.documents[0]!.id}`);
    await page.locator(".viewer .error").getByText("No document").waitFor();
  });

  it("a document holding <img onerror> and <script> is shown as text, and nothing in it runs", async () => {
    const page = await openWithKey(ALPHA_KEY);
    await ask(page, "What is the greenhouse thermostat set to during winter nights?", "alpha");
    await page.locator("#sources a", { hasText: "greenhouse.md" }).first().click();
    await page.locator("mark#cited").waitFor();
    const text = await page.locator(".doc-text").textContent();
    expect(text).toContain("<img src=x onerror=");
    expect(text).toContain("<script>window.__pwned=2");
    expect(await page.locator(".doc-text img, .doc-text script, #answer img, #sources img").count()).toBe(0);
    expect(await page.evaluate("window.__pwned")).toBeUndefined();
    expect(dialogs).toEqual([]);
    expect(pageErrors).toEqual([]);
    expect(cspViolations).toEqual([]);
    // Every page of the suite sent its key in a header only.
    expect(keysInUrls).toEqual([]);
  });
});
