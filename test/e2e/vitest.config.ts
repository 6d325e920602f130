import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// Browser tests: `npx vitest run --config test/e2e/vitest.config.ts`. They need Debian's
// Chromium at /usr/bin/chromium and skip without it.
export default defineConfig({
  // Paths below are relative to the repository, also when a root config lists this file as a project.
  root: fileURLToPath(new URL("../..", import.meta.url)),
  test: {
    name: "e2e",
    include: ["test/e2e/**/*.spec.ts"],
    globalSetup: existsSync("/usr/bin/chromium") ? ["test/e2e/global-setup.ts"] : [],
    // One app serves every spec; files run one at a time so runs do not compete for the worker.
    fileParallelism: false,
    // Listed as a project of the root config, these run after the unit tests, not beside them.
    sequence: { groupOrder: 1 },
    testTimeout: 180_000,
    hookTimeout: 240_000,
  },
});
