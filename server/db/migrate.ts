// Applies the committed prisma/migrations/*/migration.sql files at start-up with plain `pg`,
// so that the app needs neither the Prisma CLI nor its downloaded schema engine.
import { createHash, randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import pg from "pg";
import { dbLogger, type Logger } from "./log";

export const MIGRATIONS_TABLE = "_hswarm_migrations";
export const DEFAULT_MIGRATIONS_DIR = "prisma/migrations";

/** Session advisory lock that serialises appliers on one database: "HSwarm" in ASCII. */
const MIGRATION_LOCK_KEY = "79523322360429";

export interface Migration {
  /** Folder name, for example "20261204194216_init". Migrations apply in name order. */
  name: string;
  sql: string;
  /** SHA-256 of the file's bytes in hex, the checksum `prisma migrate` records too. */
  checksum: string;
}

export interface ApplyMigrationsOptions {
  /** Folder that contains the migration folders. Default: `prisma/migrations` under the current directory. */
  migrationsDir?: string;
  logger?: Logger;
}

export interface ApplyMigrationsResult {
  /** Migrations applied by this call, in order. */
  applied: string[];
  /** Migrations that `prisma migrate` had applied and this call recorded without running them. */
  adopted: string[];
}

/** A migration that cannot be applied, or that differs from the one the database recorded. */
export class MigrationError extends Error {
  readonly migration: string;

  constructor(migration: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "MigrationError";
    this.migration = migration;
  }
}

/** Reads the migration folders in name order, skipping folders without migration.sql. */
export async function readMigrations(migrationsDir = DEFAULT_MIGRATIONS_DIR): Promise<Migration[]> {
  const dir = path.resolve(migrationsDir);
  if (!existsSync(dir)) {
    throw new Error(`The migrations folder ${dir} does not exist. Start HSwarm from the project's root folder.`);
  }

  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();

  const migrations: Migration[] = [];
  for (const name of names) {
    const file = path.join(dir, name, "migration.sql");
    if (!existsSync(file)) continue;

    const bytes = await readFile(file);
    migrations.push({ name, sql: bytes.toString("utf8"), checksum: sha256(bytes) });
  }
  return migrations;
}

/**
 * Applies every migration the database has not recorded, each in its own transaction, in
 * name order. Holds an advisory lock meanwhile, so that processes starting at the same time
 * apply each migration once.
 *
 * Throws MigrationError when a recorded migration's file has changed or is missing, or
 * when a migration fails (that migration is rolled back, earlier ones stay applied).
 */
export async function applyMigrations(url: string, options: ApplyMigrationsOptions = {}): Promise<ApplyMigrationsResult> {
  const logger = options.logger ?? dbLogger;
  const migrations = await readMigrations(options.migrationsDir);

  const client = new pg.Client({ connectionString: url });
  // Without a listener, a connection that the server closes between queries crashes the
  // process. The next query rejects with the same error, so logging is enough here.
  client.on("error", (error) => logger.warn({ err: error }, "migration connection failed"));
  await client.connect();
  try {
    await client.query("SELECT pg_advisory_lock($1::bigint)", [MIGRATION_LOCK_KEY]);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (
        name text PRIMARY KEY,
        checksum text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`,
    );

    const adopted = await adoptPrismaMigrations(client);
    const recorded = await readRecorded(client);
    verifyRecorded(recorded, migrations);

    const prismaTableExists = await tableExists(client, "_prisma_migrations");
    const applied: string[] = [];
    for (const migration of migrations) {
      if (recorded.has(migration.name)) continue;

      await applyOne(client, migration, prismaTableExists);
      applied.push(migration.name);
      logger.info({ migration: migration.name }, "applied database migration");
    }

    return { applied, adopted };
  } finally {
    // Ending the session releases the advisory lock too, also when the unlock query fails.
    await client.query("SELECT pg_advisory_unlock($1::bigint)", [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await client.end();
  }
}

async function applyOne(client: pg.Client, migration: Migration, recordForPrisma: boolean): Promise<void> {
  // NOTE: statements that PostgreSQL forbids inside a transaction block, such as CREATE INDEX
  // CONCURRENTLY, fail here. Prisma does not generate them, but a hand-edited migration may.
  await client.query("BEGIN");
  try {
    // A query without parameters uses the simple protocol, which runs several statements.
    await client.query(migration.sql);
    await client.query(`INSERT INTO ${MIGRATIONS_TABLE} (name, checksum) VALUES ($1, $2)`, [migration.name, migration.checksum]);
    if (recordForPrisma) await recordInPrismaTable(client, migration);
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK");
    throw new MigrationError(migration.name, `Migration ${migration.name} failed and was rolled back: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

async function readRecorded(client: pg.Client): Promise<Map<string, string>> {
  const result = await client.query<{ name: string; checksum: string }>(`SELECT name, checksum FROM ${MIGRATIONS_TABLE}`);
  return new Map(result.rows.map((row) => [row.name, row.checksum]));
}

function verifyRecorded(recorded: Map<string, string>, migrations: Migration[]): void {
  const files = new Map(migrations.map((migration) => [migration.name, migration]));

  for (const [name, checksum] of recorded) {
    const file = files.get(name);
    if (!file) {
      throw new MigrationError(
        name,
        `The database has migration ${name} applied, but prisma/migrations has no such folder. ` +
          `This code is older than the database; update it.`,
      );
    }
    if (file.checksum !== checksum) {
      throw new MigrationError(
        name,
        `Migration ${name} changed after it was applied (recorded checksum ${checksum}, file checksum ${file.checksum}). ` +
          `Restore the committed migration.sql and put schema changes in a new migration.`,
      );
    }
  }
}

/**
 * Records the migrations that `prisma migrate dev` or `deploy` finished on this database, so
 * that a developer database migrated with the Prisma CLI is not migrated twice.
 */
async function adoptPrismaMigrations(client: pg.Client): Promise<string[]> {
  if (!(await tableExists(client, "_prisma_migrations"))) return [];

  const result = await client.query<{ migration_name: string; checksum: string; finished_at: Date | null }>(
    `SELECT p.migration_name, p.checksum, p.finished_at
       FROM _prisma_migrations p
      WHERE p.rolled_back_at IS NULL
        AND NOT EXISTS (SELECT 1 FROM ${MIGRATIONS_TABLE} h WHERE h.name = p.migration_name)
      ORDER BY p.migration_name`,
  );

  const adopted: string[] = [];
  for (const row of result.rows) {
    if (!row.finished_at) {
      throw new MigrationError(
        row.migration_name,
        `prisma migrate recorded migration ${row.migration_name} as failed. ` +
          `Fix the database and mark it with \`prisma migrate resolve\` before starting HSwarm.`,
      );
    }
    // Migrations the files do not contain, or whose files changed, are rejected by
    // verifyRecorded with the same messages as HSwarm's own records.
    await client.query(`INSERT INTO ${MIGRATIONS_TABLE} (name, checksum) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, [
      row.migration_name,
      row.checksum,
    ]);
    adopted.push(row.migration_name);
  }
  return adopted;
}

/** Adds a finished row to Prisma's table, so that `prisma migrate status` agrees with HSwarm. */
async function recordInPrismaTable(client: pg.Client, migration: Migration): Promise<void> {
  await client.query(
    `INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at, finished_at, applied_steps_count)
     VALUES ($1, $2, $3, now(), now(), 1)`,
    [randomUUID(), migration.checksum, migration.name],
  );
}

async function tableExists(client: pg.Client, table: string): Promise<boolean> {
  const result = await client.query<{ exists: boolean }>("SELECT to_regclass($1) IS NOT NULL AS exists", [table]);
  return result.rows[0].exists;
}

function sha256(bytes: Buffer): string {
  return createHash("sha256").update(bytes).digest("hex");
}
