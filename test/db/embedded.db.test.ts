import { execFile } from "node:child_process";
import { rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { embeddedOptionsFromEnv, findRunningServer, startEmbeddedPostgres, stopEmbeddedPostgres, type EmbeddedServer } from "../../server/db/embedded";
import { findFreePort, makeTempDataDir, silentLogger } from "../setup/database";

const run = promisify(execFile);

async function queryOne<Row extends pg.QueryResultRow>(url: string, sql: string): Promise<Row> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<Row>(sql)).rows[0];
  } finally {
    await client.end();
  }
}

async function canConnect(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url });
  client.on("error", () => undefined);
  try {
    await client.connect();
    await client.end();
    return true;
  } catch {
    return false;
  }
}

describe("embedded PostgreSQL", () => {
  let dataDir: string;
  let port: number;
  let server: EmbeddedServer;

  beforeAll(async () => {
    dataDir = await makeTempDataDir();
    port = await findFreePort();
    server = await startEmbeddedPostgres({ dataDir, port, database: "hswarm_probe", logger: silentLogger });
  });

  afterAll(async () => {
    await stopEmbeddedPostgres({ dataDir });
    await rm(dataDir, { recursive: true, force: true });
  });

  it("starts in an empty folder and answers queries", async () => {
    const row = await queryOne<{ answer: number; database: string }>(server.url, "SELECT 1 AS answer, current_database() AS database");

    expect(server.startedHere).toBe(true);
    expect(server.port).toBe(port);
    expect(row.answer).toBe(1);
    expect(row.database).toBe("hswarm_probe");
  });

  it("listens on loopback only, with UTF-8 encoding", async () => {
    const row = await queryOne<{ listen: string; encoding: string }>(
      server.url,
      "SELECT current_setting('listen_addresses') AS listen, current_setting('server_encoding') AS encoding",
    );

    expect(server.url).toContain("@127.0.0.1:");
    expect(row.listen).toBe("127.0.0.1");
    expect(row.encoding).toBe("UTF8");
  });

  it("requires the generated password", async () => {
    const withoutPassword = new URL(server.url);
    withoutPassword.password = "wrong";

    expect(await canConnect(withoutPassword.toString())).toBe(false);
  });

  it("returns the same server on a second call", async () => {
    const again = await startEmbeddedPostgres({ dataDir, port, database: "hswarm_other", logger: silentLogger });

    expect(again.port).toBe(server.port);
    expect(again.startedHere).toBe(true);
    expect(again.url).toBe(server.urlFor("hswarm_other"));
    expect(await canConnect(again.url)).toBe(true);
  });

  it("lets another process connect to the running server", async () => {
    const { stdout } = await run(process.execPath, ["--import", "tsx", "test/setup/start-embedded.ts", dataDir, String(port)]);
    const child = JSON.parse(stdout.trim()) as { url: string; port: number; startedHere: boolean };

    expect(child.startedHere).toBe(false);
    expect(child.port).toBe(port);
    expect(child.url).toBe(server.url.replace("hswarm_probe", "hswarm"));
    expect(await canConnect(server.url)).toBe(true);
  });

  it("stops, and keeps its data for the next start", async () => {
    await queryOne(server.url, "CREATE TABLE kept (id int)");

    await server.stop();
    const runningAfterStop = await findRunningServer(dataDir);
    const reachableAfterStop = await canConnect(server.url);
    server = await startEmbeddedPostgres({ dataDir, port, database: "hswarm_probe", logger: silentLogger });
    const kept = await queryOne<{ exists: boolean }>(server.url, "SELECT to_regclass('kept') IS NOT NULL AS exists");

    expect(runningAfterStop).toBeNull();
    expect(reachableAfterStop).toBe(false);
    expect(server.startedHere).toBe(true);
    expect(kept.exists).toBe(true);
  });
});

describe("embedded PostgreSQL settings", () => {
  it("reads the port and folder from the environment", () => {
    const options = embeddedOptionsFromEnv({ HSWARM_EMBEDDED_PG_PORT: "54400", HSWARM_EMBEDDED_PG_DIR: "/tmp/x" });

    expect(options.port).toBe(54400);
    expect(options.dataDir).toBe("/tmp/x");
  });

  it("rejects an invalid port in the environment", () => {
    expect(() => embeddedOptionsFromEnv({ HSWARM_EMBEDDED_PG_PORT: "70000" })).toThrow(
      'HSWARM_EMBEDDED_PG_PORT must be a port number between 1 and 65535, but got "70000".',
    );
  });

  it("rejects a cluster without its password file", async () => {
    const dataDir = await makeTempDataDir();
    await writeFile(path.join(dataDir, "PG_VERSION"), "18\n");

    const attempt = startEmbeddedPostgres({ dataDir, port: await findFreePort(), logger: silentLogger });

    await expect(attempt).rejects.toThrow(`The password file ${path.join(dataDir, "hswarm-password")} is missing`);
    await rm(dataDir, { recursive: true, force: true });
  });

  it("reports a port that another server uses", async () => {
    const dataDir = await makeTempDataDir();
    const busy = await startEmbeddedPostgres({ dataDir: await makeTempDataDir(), port: await findFreePort(), deleteOnStop: true, logger: silentLogger });

    const attempt = startEmbeddedPostgres({ dataDir, port: busy.port, deleteOnStop: true, logger: silentLogger });

    await expect(attempt).rejects.toThrow(`Embedded PostgreSQL failed to start on 127.0.0.1:${busy.port}`);
    await busy.stop();
    await rm(dataDir, { recursive: true, force: true });
  });
});
