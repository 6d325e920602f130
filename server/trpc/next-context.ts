import "server-only";
import { openDatabase, type Database } from "../db/client";
import { serverEnv } from "../env";
import { getRunEventListener } from "../events/listener";
import { logger } from "../log";
import { getBoss } from "../queue";
import type { Context } from "./init";

// Context of requests served by the Next.js route handler. The database, the queue client and
// the LISTEN connection are opened once per process and shared by every request. The queue
// client only sends jobs: the web server never runs a search itself.

interface SharedResources {
  database?: Promise<Database>;
}

/** On globalThis, so that module reloads in `next dev` reuse the open connections. */
const shared: SharedResources = ((globalThis as { __hswarmApiResources?: SharedResources }).__hswarmApiResources ??= {});

const apiLogger = logger.child({ module: "api" });

export async function createRequestContext(): Promise<Context> {
  const { url, prisma } = await sharedDatabase();
  return {
    prisma,
    boss: () => getBoss(url),
    runEvents: () => getRunEventListener(url),
    logger: apiLogger,
  };
}

/** Opens the database on first use: DATABASE_URL, else the embedded server, with migrations applied. */
function sharedDatabase(): Promise<Database> {
  shared.database ??= (async () => {
    serverEnv();
    return openDatabase(process.env, apiLogger);
  })().catch((error: unknown) => {
    // A failed start is retried by the next request instead of being cached.
    shared.database = undefined;
    throw error;
  });
  return shared.database;
}
