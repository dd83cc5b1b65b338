import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    // Tests load a real model and real databases; on two busy cores a cold start takes seconds.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Files run in parallel workers; each test makes its own database and folders.
    pool: "forks",
  },
});
