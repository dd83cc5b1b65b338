import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext } from "playwright-core";

/** Debian's Chromium (.ci/run installs it when missing); the e2e suite drives it, nothing is downloaded. */
export const CHROMIUM = "/usr/bin/chromium";
export const chromiumPresent = () => existsSync(CHROMIUM);

/**
 * A headless Chromium with a fresh profile of its own, removed on close. Each page of the context
 * is its own tab, so its sessionStorage (where the app keeps the API key) is its own too.
 */
export async function launchChromium(): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), "rag-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    viewport: { width: 1280, height: 860 },
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
