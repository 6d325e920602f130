import type PgBoss from "pg-boss";
import { startRunQueue } from "./runs/queue";

// The process's pg-boss client for enqueueing runs, shared by the web server's requests and the
// demo launcher. It sends jobs only: maintenance and work are the workers' part.

/** Clients by database URL, on globalThis so that module reloads in `next dev` reuse them. */
const clients: Map<string, Promise<PgBoss>> = ((globalThis as { __hswarmBossClients?: Map<string, Promise<PgBoss>> }).__hswarmBossClients ??=
  new Map());

/** Returns the started client for a database URL, starting it on first use. A failed start is retried on the next call. */
export function getBoss(url: string): Promise<PgBoss> {
  let client = clients.get(url);
  if (!client) {
    client = startRunQueue(url, { supervise: false });
    clients.set(url, client);
    client.catch(() => {
      if (clients.get(url) === client) clients.delete(url);
    });
  }
  return client;
}

/** Stops every client this process started, for a clean shutdown. */
export async function stopBosses(): Promise<void> {
  const started = [...clients.values()];
  clients.clear();
  await Promise.all(started.map(async (client) => (await client.catch(() => null))?.stop({ graceful: false, wait: false })));
}
