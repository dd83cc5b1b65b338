import { createExtractiveGenerator } from "./extractive.js";
import type { Generator } from "./types.js";

/** Builds the generator named by `GENERATOR`. Only the extractive one ships in this build. */
export function createGenerator(spec: string): Generator {
  if (spec === "extractive") return createExtractiveGenerator();
  throw new Error(`GENERATOR=${spec} is not available in this build yet; use GENERATOR=extractive.`);
}
