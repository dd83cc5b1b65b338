import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    // Tests load a real model and real databases; on two busy cores a cold start takes seconds.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Files run in parallel workers; each test makes its own database and folders.
    pool: "forks",
    // Vitest's default is one worker fewer than the cores: on the two-core machines CI runs on that is
    // one file at a time, though most files spend their time waiting on child processes, sockets and
    // timers (1,211 s wall for 1,084 s of tests). Two workers keep both cores busy.
    maxWorkers: 2,
  },
});
