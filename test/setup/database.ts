// Fresh PostgreSQL databases for `*.db.test.ts`. With TEST_DATABASE_URL set (for example
// postgres://postgres@127.0.0.1:5432/postgres) they are created on that server, otherwise on
// an embedded server that this test process starts once, in a temporary folder on a free port.
import { randomBytes } from "node:crypto";
import { mkdtemp } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { pino } from "pino";
import { createPrismaClient, type PrismaClient } from "../../server/db/client";
import { startEmbeddedPostgres, type EmbeddedServer } from "../../server/db/embedded";
import { applyMigrations } from "../../server/db/migrate";

export const silentLogger = pino({ level: "silent" });

export interface TestDatabase {
  name: string;
  url: string;
  /** Client of this database, disconnected by drop(). */
  prisma: PrismaClient;
  drop(): Promise<void>;
}

export interface CreateTestDatabaseOptions {
  /** Whether to apply prisma/migrations. Default: true. */
  migrate?: boolean;
}

interface TestServer {
  /** URL of a maintenance database that CREATE DATABASE and DROP DATABASE run from. */
  adminUrl: string;
  urlFor(database: string): string;
}

let testServer: Promise<TestServer> | undefined;
let embeddedServer: EmbeddedServer | undefined;

/** Creates an empty, uniquely named database and migrates it unless `migrate` is false. */
export async function createTestDatabase(options: CreateTestDatabaseOptions = {}): Promise<TestDatabase> {
  testServer ??= openTestServer();
  const server = await testServer;

  const name = `hswarm_test_${process.pid}_${randomBytes(4).toString("hex")}`;
  await runAdminQuery(server.adminUrl, (client) => `CREATE DATABASE ${client.escapeIdentifier(name)}`);

  const url = server.urlFor(name);
  if (options.migrate ?? true) await applyMigrations(url, { logger: silentLogger });
  const prisma = createPrismaClient(url);

  return {
    name,
    url,
    prisma,
    drop: async () => {
      await prisma.$disconnect();
      await runAdminQuery(server.adminUrl, (client) => `DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`);
    },
  };
}

/** Stops the embedded server that this process started and deletes its folder. Does nothing with TEST_DATABASE_URL. */
export async function stopTestServer(): Promise<void> {
  const server = embeddedServer;
  embeddedServer = undefined;
  testServer = undefined;
  if (server) await server.stop();
}

/** Returns a TCP port on 127.0.0.1 that was free a moment ago. */
export async function findFreePort(): Promise<number> {
  const listener = createServer();
  await new Promise<void>((resolve, reject) => {
    listener.once("error", reject);
    listener.listen(0, "127.0.0.1", resolve);
  });
  const address = listener.address();
  await new Promise<void>((resolve) => listener.close(() => resolve()));

  if (address === null || typeof address === "string") throw new Error(`Expected a TCP address, but got ${String(address)}.`);
  return address.port;
}

/** Creates an empty temporary folder for an embedded cluster. */
export function makeTempDataDir(prefix = "hswarm-test-pg-"): Promise<string> {
  return mkdtemp(path.join(tmpdir(), prefix));
}

async function openTestServer(): Promise<TestServer> {
  const baseUrl = process.env.TEST_DATABASE_URL?.trim();
  if (baseUrl) {
    return { adminUrl: baseUrl, urlFor: (database) => replaceDatabase(baseUrl, database) };
  }

  embeddedServer = await startEmbeddedPostgres({
    dataDir: await makeTempDataDir(),
    port: await findFreePort(),
    deleteOnStop: true,
    logger: silentLogger,
  });
  return { adminUrl: embeddedServer.urlFor("postgres"), urlFor: embeddedServer.urlFor };
}

function replaceDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.toString();
}

async function runAdminQuery(adminUrl: string, buildSql: (client: pg.Client) => string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(buildSql(client));
  } finally {
    await client.end();
  }
}
