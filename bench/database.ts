import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { chmod } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { pino } from "pino";
import { startEmbeddedPostgres, type EmbeddedServer } from "../server/db/embedded";

// A database that a benchmark creates and drops: on DATABASE_URL's or TEST_DATABASE_URL's
// server when one is set, otherwise on an embedded PostgreSQL in a temporary folder.

const silent = pino({ level: "silent" });

/** A scratch database and how to remove it. */
export interface Scratch {
  url: string;
  label: string;
  dispose(): Promise<void>;
}

export async function openScratchDatabase(prefix: string): Promise<Scratch> {
  const serverUrl = process.env.DATABASE_URL?.trim() || process.env.TEST_DATABASE_URL?.trim();
  if (serverUrl) {
    const name = `${prefix}_${process.pid}_${randomBytes(3).toString("hex")}`;
    await adminQuery(serverUrl, (client) => `CREATE DATABASE ${client.escapeIdentifier(name)}`);
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    return {
      url: url.toString(),
      label: `scratch database on ${url.host}`,
      dispose: () => adminQuery(serverUrl, (client) => `DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`),
    };
  }

  const dataDir = mkdtempSync(path.join(tmpdir(), `${prefix.replace(/_/g, "-")}-pg-`));
  // When this runs as root, PostgreSQL runs as the user "postgres", which must enter the folder.
  await chmod(dataDir, 0o755);
  const server: EmbeddedServer = await startEmbeddedPostgres({ dataDir, port: await freePort(), deleteOnStop: true, logger: silent });
  return {
    url: server.url,
    label: "embedded PostgreSQL 18",
    dispose: async () => {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function adminQuery(url: string, buildSql: (client: pg.Client) => string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(buildSql(client));
  } finally {
    await client.end();
  }
}

/** Returns a TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  const listener = createServer();
  await new Promise<void>((resolve, reject) => {
    listener.once("error", reject);
    listener.listen(0, "127.0.0.1", resolve);
  });
  const address = listener.address();
  await new Promise<void>((resolve) => listener.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error(`expected a TCP address, but got ${String(address)}`);
  return address.port;
}
