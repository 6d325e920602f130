// Generates the Prisma client into generated/prisma (run by `npm install` as postinstall).
// `prisma generate` never runs the schema engine, but Prisma 7 downloads one unless
// PRISMA_SCHEMA_ENGINE_BINARY names an existing file. Pointing it at this script keeps installs
// working on machines without internet. A value set by the user wins.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const env = {
  ...process.env,
  PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? fileURLToPath(import.meta.url),
  CHECKPOINT_DISABLE: "1",
  PRISMA_HIDE_UPDATE_MESSAGE: "1",
};
const result = spawnSync("npx", ["prisma", "generate"], { stdio: "inherit", env });
process.exit(result.status ?? 1);
