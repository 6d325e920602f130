// Database connection for the web server, the worker and the CLI. Needs the generated client:
// run `npm run db:generate` after installing or after changing prisma/schema.prisma.
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "../../generated/prisma/client";
import { embeddedOptionsFromEnv, startEmbeddedPostgres } from "./embedded";
import { dbLogger, type Logger } from "./log";
import { applyMigrations } from "./migrate";

export { PrismaClient };

export interface Database {
  url: string;
  prisma: PrismaClient;
}

/**
 * Returns DATABASE_URL when it is set. Otherwise starts the embedded server, or connects to
 * the one already running from its data folder, and returns its URL.
 * HSWARM_EMBEDDED_PG_DIR and HSWARM_EMBEDDED_PG_PORT set that server's data folder and port.
 */
export async function resolveDatabaseUrl(env: Partial<Record<string, string>> = process.env, logger: Logger = dbLogger): Promise<string> {
  const url = env.DATABASE_URL?.trim();
  if (url) return url;

  logger.info("DATABASE_URL is not set; using the embedded PostgreSQL server");
  const server = await startEmbeddedPostgres({ ...embeddedOptionsFromEnv(env), logger });
  return server.url;
}

/** Creates a new client, which the caller owns and disconnects with `$disconnect()`. */
export function createPrismaClient(url: string): PrismaClient {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: url }) });
}

/** Clients shared by getPrisma, on globalThis so that module reloads in `next dev` reuse them. */
const sharedClients: Map<string, PrismaClient> = ((globalThis as { __hswarmPrismaClients?: Map<string, PrismaClient> }).__hswarmPrismaClients ??=
  new Map());

/** Returns the process's shared client for a URL, creating it on first use. */
export function getPrisma(url: string): PrismaClient {
  let client = sharedClients.get(url);
  if (!client) {
    client = createPrismaClient(url);
    sharedClients.set(url, client);
  }
  return client;
}

/** Resolves the URL, applies pending migrations and returns the shared client. */
export async function openDatabase(env: Partial<Record<string, string>> = process.env, logger: Logger = dbLogger): Promise<Database> {
  const url = await resolveDatabaseUrl(env, logger);
  await applyMigrations(url, { logger });
  return { url, prisma: getPrisma(url) };
}
