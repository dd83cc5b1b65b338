import { existsSync, readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The repository's prompts folder (prompts/<kind>/<version>.md). */
export const PROMPTS_DIR = fileURLToPath(new URL("../../prompts/", import.meta.url));

export type PromptKind = "answer" | "judge" | "rewrite";

/** A prompt as sent, and the id every query log and cache key records, e.g. `answer/v1`. */
export interface VersionedPrompt {
  id: string;
  kind: PromptKind;
  version: string;
  text: string;
}

const VERSION = /^[\w.-]{1,40}$/;
const loaded = new Map<string, VersionedPrompt>();

/** The versions of `kind` in the folder, sorted. */
export function promptVersions(kind: PromptKind, dir = PROMPTS_DIR): string[] {
  const folder = `${dir}/${kind}`;
  if (!existsSync(folder)) {
    return [];
  }
  return readdirSync(folder)
    .filter((f) => f.endsWith(".md"))
    .map((f) => f.slice(0, -3))
    .sort();
}

/**
 * Reads `prompts/<kind>/<version>.md` once and fills `{{NAME}}` from `vars`. An unknown version, or a
 * placeholder left unfilled, is an error that names the versions there are: a typo in
 * PROMPT_VERSION must stop start-up, not send a prompt with a hole in it.
 */
export function loadPrompt(
  kind: PromptKind,
  version: string,
  vars: Record<string, string> = {},
  dir = PROMPTS_DIR,
): VersionedPrompt {
  const id = `${kind}/${version}`;
  const cacheId = `${dir}\0${id}\0${JSON.stringify(vars)}`;
  const hit = loaded.get(cacheId);
  if (hit) {
    return hit;
  }
  const file = `${dir}/${kind}/${version}.md`;
  if (!VERSION.test(version) || !existsSync(file)) {
    throw new Error(
      `no ${kind} prompt version "${version}" in ${dir}${kind}/ (there are: ${promptVersions(kind, dir).join(", ") || "none"})`,
    );
  }
  const text = readFileSync(file, "utf8")
    .replace(/\r\n/g, "\n")
    .replace(/\n$/, "")
    .replace(/\{\{(\w+)\}\}/g, (_whole, name: string) => {
      const value = vars[name];
      if (value === undefined) {
        throw new Error(`${file}: {{${name}}} has no value`);
      }
      return value;
    });
  const prompt = { id, kind, version, text };
  loaded.set(cacheId, prompt);
  return prompt;
}
