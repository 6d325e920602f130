import type PgBoss from "pg-boss";
import { RunEventListener } from "../../server/events/listener";
import { startRunQueue } from "../../server/runs/queue";
import type { Context } from "../../server/trpc/init";
import { createCaller } from "../../server/trpc/root";
import { createTestDatabase, silentLogger, type TestDatabase } from "../setup/database";

/** A migrated test database with the API's context and a caller over it. */
export interface ApiHarness {
  db: TestDatabase;
  context: Context;
  caller: ReturnType<typeof createCaller>;
  /** Stops the queue client and the listener if they were started, then drops the database. */
  close(): Promise<void>;
}

export async function createApiHarness(): Promise<ApiHarness> {
  const db = await createTestDatabase();
  let boss: Promise<PgBoss> | undefined;
  let listener: RunEventListener | undefined;

  const context: Context = {
    prisma: db.prisma,
    boss: () => (boss ??= startRunQueue(db.url, { supervise: false })),
    runEvents: () => (listener ??= new RunEventListener(db.url, { logger: silentLogger, reconnectDelayMs: () => 10 })),
    logger: silentLogger,
  };

  return {
    db,
    context,
    caller: createCaller(context),
    close: async () => {
      await listener?.close();
      const started = await boss?.catch(() => undefined);
      await started?.stop({ graceful: false, wait: false, close: true });
      await db.drop();
    },
  };
}
