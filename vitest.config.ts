import path from "node:path";
import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: {
    alias: {
      // "server-only" throws outside a React Server Component bundle; tests run server modules directly.
      "server-only": path.resolve(__dirname, "node_modules/server-only/empty.js"),
      "@": __dirname,
    },
  },
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Unit, database and API tests first; then the browser tests, which build and start the app.
    projects: [
      { extends: true, test: { name: "unit", include: ["test/**/*.test.ts"] } },
      { extends: "./test/e2e/vitest.config.ts", test: { name: "e2e" } },
    ],
  },
});
