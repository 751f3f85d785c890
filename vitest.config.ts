import {defineConfig} from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // TF.js backends are process-global; one file per worker keeps them from fighting.
    pool: "forks",
    poolOptions: {forks: {singleFork: false}},
    testTimeout: 60_000,
    hookTimeout: 600_000
  }
});
