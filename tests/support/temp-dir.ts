import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, onTestFinished } from "vitest";
import { getCurrentTest } from "vitest/suite";

// Folders made outside a test (in beforeAll, a describe body or at the top of a file) are removed when the file
// is done. A test file's first import runs this line while vitest collects it, so the hook belongs to the file's
// root suite; after-hooks run in reverse order, so it runs after the file's own afterAll that stop what uses them.
const fileDirs: string[] = [];
afterAll(() => {
  for (const dir of fileDirs.splice(0)) {
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * A new empty folder under the system temp folder, removed with everything in it when the test that made it
 * finishes (after its afterEach hooks, so a pipeline stopped there has let go of it), or, when made outside a
 * test, when the test file finishes.
 *
 * @example const docs = tempDir("rag-docs-"); writeFileSync(join(docs, "a.md"), "# A");
 */
export function tempDir(prefix = "rag-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (getCurrentTest()) {
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  } else {
    fileDirs.push(dir);
  }
  return dir;
}
