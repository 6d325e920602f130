import { rm } from "node:fs/promises";
import { afterAll, describe, expect, it } from "vitest";
import { getPrisma, openDatabase, resolveDatabaseUrl } from "../../server/db/client";
import { stopEmbeddedPostgres } from "../../server/db/embedded";
import { createTestDatabase, findFreePort, makeTempDataDir, silentLogger, stopTestServer, type TestDatabase } from "../setup/database";

const databases: TestDatabase[] = [];

afterAll(async () => {
  await Promise.all(databases.map((database) => database.drop()));
  await stopTestServer();
});

describe("resolveDatabaseUrl", () => {
  it("returns DATABASE_URL when it is set", async () => {
    const url = await resolveDatabaseUrl({ DATABASE_URL: " postgres://user@127.0.0.1:5999/app " }, silentLogger);

    expect(url).toBe("postgres://user@127.0.0.1:5999/app");
  });

  it("starts the embedded server when DATABASE_URL is empty", async () => {
    const dataDir = await makeTempDataDir();
    const port = await findFreePort();

    try {
      const url = await resolveDatabaseUrl({ DATABASE_URL: "", HSWARM_EMBEDDED_PG_DIR: dataDir, HSWARM_EMBEDDED_PG_PORT: String(port) }, silentLogger);

      expect(url).toMatch(new RegExp(`^postgresql://postgres:[^@]+@127\\.0\\.0\\.1:${port}/hswarm$`));
    } finally {
      await stopEmbeddedPostgres({ dataDir });
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe("openDatabase", () => {
  it("migrates the database and returns a working client", async () => {
    const database = await createTestDatabase({ migrate: false });
    databases.push(database);

    const opened = await openDatabase({ DATABASE_URL: database.url }, silentLogger);
    const pools = await opened.prisma.pool.findMany();

    expect(opened.url).toBe(database.url);
    expect(pools).toEqual([]);
    await opened.prisma.$disconnect();
  });
});

describe("getPrisma", () => {
  it("shares one client per URL", () => {
    const first = getPrisma("postgres://user@127.0.0.1:5999/a");

    expect(getPrisma("postgres://user@127.0.0.1:5999/a")).toBe(first);
    expect(getPrisma("postgres://user@127.0.0.1:5999/b")).not.toBe(first);
  });
});
