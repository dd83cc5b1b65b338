import { copyFile, mkdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

/** Where the built app goes (git-ignored); the API serves it at `/`. */
export const WEB_DIST = fileURLToPath(new URL("./dist/", import.meta.url));
const SRC = fileURLToPath(new URL("./src/", import.meta.url));
const INDEX = fileURLToPath(new URL("./index.html", import.meta.url));

/** The budget for the JavaScript a first visit downloads. */
export const FIRST_VISIT_JS_BUDGET = 150 * 1024;

export interface WebBuild {
  outDir: string;
  /** Every output file and its size, raw and gzipped. */
  files: Array<{ file: string; bytes: number; gzipBytes: number }>;
  /** JavaScript a first visit loads: the entry and its static imports; lazy chunks (charts) come later. */
  firstVisitJs: { files: string[]; bytes: number; gzipBytes: number };
}

/**
 * Bundles web/src with esbuild into `outDir`: one ES module entry, code split so the chart
 * library loads only on the Quality page, one stylesheet, and index.html. No CDN, nothing fetched.
 */
export async function buildWeb(outDir: string = WEB_DIST): Promise<WebBuild> {
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  const result = await build({
    entryPoints: { main: join(SRC, "main.ts") },
    outdir: outDir,
    bundle: true,
    format: "esm",
    splitting: true,
    minify: true,
    target: ["es2020", "chrome100", "firefox100", "safari15"],
    chunkNames: "chunk-[hash]",
    metafile: true,
    logLevel: "silent",
    legalComments: "none",
  });
  await copyFile(INDEX, join(outDir, "index.html"));
  const files: WebBuild["files"] = [];
  for (const abs of Object.keys(result.metafile.outputs)) {
    const data = await readFile(abs);
    files.push({
      file: abs.slice(abs.lastIndexOf("/") + 1),
      bytes: data.byteLength,
      gzipBytes: gzipSync(data, { level: 9 }).byteLength,
    });
  }
  // Follow the entry's static imports: that is what the browser fetches before anything runs.
  const outputs = result.metafile.outputs;
  const entry = Object.keys(outputs).find((k) => k.endsWith("/main.js"))!;
  const first = new Set<string>();
  const visit = (path: string) => {
    if (first.has(path)) {
      return;
    }
    first.add(path);
    for (const imp of outputs[path]?.imports ?? []) {
      if (imp.kind === "import-statement") {
        visit(imp.path);
      }
    }
  };
  visit(entry);
  const names = [...first].map((p) => p.slice(p.lastIndexOf("/") + 1));
  const picked = files.filter((f) => names.includes(f.file));
  return {
    outDir,
    files,
    firstVisitJs: {
      files: names,
      bytes: picked.reduce((n, f) => n + f.bytes, 0),
      gzipBytes: picked.reduce((n, f) => n + f.gzipBytes, 0),
    },
  };
}

// `tsx web/build.ts` (npm start/api run it first): build and print the sizes.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const out = await buildWeb();
  const kb = (n: number) => `${(n / 1024).toFixed(1)} kB`;
  for (const f of out.files) {
    console.log(`web: ${f.file.padEnd(24)} ${kb(f.bytes).padStart(9)} (${kb(f.gzipBytes)} gzipped)`);
  }
  const js = out.firstVisitJs;
  console.log(
    `web: first visit JavaScript ${kb(js.gzipBytes)} gzipped (budget ${kb(FIRST_VISIT_JS_BUDGET)}) in ${js.files.join(", ")}`,
  );
  if (js.gzipBytes > FIRST_VISIT_JS_BUDGET) {
    console.error("web: the first visit's JavaScript is over budget");
    process.exit(1);
  }
}
