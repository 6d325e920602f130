// Prisma CLI configuration. The app itself does not read this file: it resolves its own URL
// and applies migrations without the CLI (server/db/client.ts, server/db/migrate.ts).
import "dotenv/config";
import { defineConfig } from "prisma/config";

export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  datasource: {
    // process.env instead of prisma's env() helper, because env() throws when the variable
    // is unset and `prisma generate` must work without a database.
    url: process.env.DATABASE_URL ?? "",
    shadowDatabaseUrl: process.env.SHADOW_DATABASE_URL,
  },
});
