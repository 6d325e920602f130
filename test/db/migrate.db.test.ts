import { createHash } from "node:crypto";
import { cp, mkdir, readFile, rm, writeFile, appendFile } from "node:fs/promises";
import path from "node:path";
import pg from "pg";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { applyMigrations, MigrationError, MIGRATIONS_TABLE, readMigrations } from "../../server/db/migrate";
import { createTestDatabase, makeTempDataDir, silentLogger, stopTestServer, type TestDatabase } from "../setup/database";

const MIGRATIONS_DIR = "prisma/migrations";
const SCHEMA_TABLES = [
  "pool",
  "pool_model",
  "task",
  "task_item",
  "run",
  "run_step",
  "item_result",
  "run_event",
  "generation_cache_entry",
  "system",
];

// The table `prisma migrate` keeps, as Prisma 7.10 creates it.
const PRISMA_MIGRATIONS_DDL = `CREATE TABLE _prisma_migrations (
  id varchar(36) PRIMARY KEY,
  checksum varchar(64) NOT NULL,
  finished_at timestamptz,
  migration_name varchar(255) NOT NULL,
  logs text,
  rolled_back_at timestamptz,
  started_at timestamptz NOT NULL DEFAULT now(),
  applied_steps_count integer NOT NULL DEFAULT 0
)`;

const databases: TestDatabase[] = [];
const tempDirs: string[] = [];

async function freshDatabase(): Promise<TestDatabase> {
  const database = await createTestDatabase({ migrate: false });
  databases.push(database);
  return database;
}

/** Copies the committed migrations into a temporary folder that a test may change. */
async function copyMigrations(): Promise<string> {
  const dir = await makeTempDataDir("hswarm-test-migrations-");
  tempDirs.push(dir);
  await cp(MIGRATIONS_DIR, dir, { recursive: true });
  return dir;
}

async function query<Row extends pg.QueryResultRow>(url: string, sql: string, values: unknown[] = []): Promise<Row[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<Row>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

async function tableNames(url: string): Promise<string[]> {
  const rows = await query<{ table_name: string }>(url, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'");
  return rows.map((row) => row.table_name);
}

async function recordedNames(url: string): Promise<string[]> {
  const rows = await query<{ name: string }>(url, `SELECT name FROM ${MIGRATIONS_TABLE} ORDER BY name`);
  return rows.map((row) => row.name);
}

afterEach(async () => {
  await Promise.all(databases.splice(0).map((database) => database.drop()));
  await Promise.all(tempDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

afterAll(stopTestServer);

describe("readMigrations", () => {
  it("lists migration folders in name order", async () => {
    const migrations = await readMigrations(MIGRATIONS_DIR);
    const names = migrations.map((migration) => migration.name);

    expect(names.length).toBeGreaterThan(0);
    expect(names).toEqual([...names].sort());
    expect(names).not.toContain("migration_lock.toml");
  });

  it("checksums the file bytes as prisma migrate does", async () => {
    const [first] = await readMigrations(MIGRATIONS_DIR);
    const bytes = await readFile(path.join(MIGRATIONS_DIR, first.name, "migration.sql"));

    expect(first.checksum).toBe(createHash("sha256").update(bytes).digest("hex"));
  });

  it("rejects a missing folder", async () => {
    await expect(readMigrations("no/such/folder")).rejects.toThrow(/does not exist/);
  });
});

describe("applyMigrations", () => {
  it("creates every table on an empty database", async () => {
    const database = await freshDatabase();
    const expected = (await readMigrations(MIGRATIONS_DIR)).map((migration) => migration.name);

    const result = await applyMigrations(database.url, { logger: silentLogger });

    expect(result.applied).toEqual(expected);
    expect(result.adopted).toEqual([]);
    expect(await tableNames(database.url)).toEqual(expect.arrayContaining([...SCHEMA_TABLES, MIGRATIONS_TABLE]));
    expect(await recordedNames(database.url)).toEqual(expected);
  });

  it("applies nothing on a second call", async () => {
    const database = await freshDatabase();
    await applyMigrations(database.url, { logger: silentLogger });
    const recordedBefore = await recordedNames(database.url);

    const result = await applyMigrations(database.url, { logger: silentLogger });

    expect(result.applied).toEqual([]);
    expect(await recordedNames(database.url)).toEqual(recordedBefore);
  });

  it("applies each migration once when two appliers start together", async () => {
    const database = await freshDatabase();
    const expected = (await readMigrations(MIGRATIONS_DIR)).map((migration) => migration.name);

    const results = await Promise.all([
      applyMigrations(database.url, { logger: silentLogger }),
      applyMigrations(database.url, { logger: silentLogger }),
    ]);
    const appliedByBoth = results.flatMap((result) => result.applied).sort();

    expect(appliedByBoth).toEqual(expected);
    expect(await recordedNames(database.url)).toEqual(expected);
  });

  it("applies a new migration after the earlier ones", async () => {
    const database = await freshDatabase();
    const dir = await copyMigrations();
    await applyMigrations(database.url, { migrationsDir: dir, logger: silentLogger });
    await mkdir(path.join(dir, "99990101000000_add_probe"));
    await writeFile(path.join(dir, "99990101000000_add_probe", "migration.sql"), 'ALTER TABLE "pool" ADD COLUMN "probe" TEXT;\n');

    const result = await applyMigrations(database.url, { migrationsDir: dir, logger: silentLogger });
    const columns = await query(database.url, "SELECT 1 FROM information_schema.columns WHERE table_name = 'pool' AND column_name = 'probe'");

    expect(result.applied).toEqual(["99990101000000_add_probe"]);
    expect(columns).toHaveLength(1);
  });

  it("rejects a migration changed after it was applied", async () => {
    const database = await freshDatabase();
    const dir = await copyMigrations();
    const [first] = await readMigrations(dir);
    await applyMigrations(database.url, { migrationsDir: dir, logger: silentLogger });
    await appendFile(path.join(dir, first.name, "migration.sql"), "\n-- edited\n");

    const attempt = applyMigrations(database.url, { migrationsDir: dir, logger: silentLogger });

    await expect(attempt).rejects.toBeInstanceOf(MigrationError);
    await expect(attempt).rejects.toThrow(`Migration ${first.name} changed after it was applied`);
  });

  it("rejects an applied migration missing from the folder", async () => {
    const database = await freshDatabase();
    const dir = await copyMigrations();
    const [first] = await readMigrations(dir);
    await applyMigrations(database.url, { migrationsDir: dir, logger: silentLogger });
    await rm(path.join(dir, first.name), { recursive: true });

    const attempt = applyMigrations(database.url, { migrationsDir: dir, logger: silentLogger });

    await expect(attempt).rejects.toBeInstanceOf(MigrationError);
    await expect(attempt).rejects.toThrow(`has migration ${first.name} applied, but prisma/migrations has no such folder`);
  });

  it("rolls back a failing migration and keeps the earlier ones", async () => {
    const database = await freshDatabase();
    const dir = await copyMigrations();
    const expected = (await readMigrations(dir)).map((migration) => migration.name);
    await mkdir(path.join(dir, "99990101000000_broken"));
    await writeFile(path.join(dir, "99990101000000_broken", "migration.sql"), 'CREATE TABLE "probe" (id int);\nSELECT * FROM "no_such_table";\n');

    const attempt = applyMigrations(database.url, { migrationsDir: dir, logger: silentLogger });

    await expect(attempt).rejects.toThrow(/Migration 99990101000000_broken failed and was rolled back: .*no_such_table/);
    expect(await tableNames(database.url)).not.toContain("probe");
    expect(await recordedNames(database.url)).toEqual(expected);
  });

  it("adopts migrations that prisma migrate applied", async () => {
    const database = await freshDatabase();
    const migrations = await readMigrations(MIGRATIONS_DIR);
    await query(database.url, PRISMA_MIGRATIONS_DDL);
    for (const migration of migrations) {
      await query(database.url, migration.sql);
      await query(
        database.url,
        "INSERT INTO _prisma_migrations (id, checksum, migration_name, finished_at, applied_steps_count) VALUES (gen_random_uuid(), $1, $2, now(), 1)",
        [migration.checksum, migration.name],
      );
    }

    const result = await applyMigrations(database.url, { logger: silentLogger });

    expect(result.applied).toEqual([]);
    expect(result.adopted).toEqual(migrations.map((migration) => migration.name));
    expect(await recordedNames(database.url)).toEqual(migrations.map((migration) => migration.name));
  });

  it("records its migrations in prisma's table when that exists", async () => {
    const database = await freshDatabase();
    const migrations = await readMigrations(MIGRATIONS_DIR);
    await query(database.url, PRISMA_MIGRATIONS_DDL);

    await applyMigrations(database.url, { logger: silentLogger });
    const rows = await query<{ migration_name: string; checksum: string; finished: boolean }>(
      database.url,
      "SELECT migration_name, checksum, finished_at IS NOT NULL AS finished FROM _prisma_migrations ORDER BY migration_name",
    );

    expect(rows.map((row) => row.migration_name)).toEqual(migrations.map((migration) => migration.name));
    expect(rows.map((row) => row.checksum)).toEqual(migrations.map((migration) => migration.checksum));
    expect(rows.every((row) => row.finished)).toBe(true);
  });

  it("rejects a migration that prisma recorded as failed", async () => {
    const database = await freshDatabase();
    const [first] = await readMigrations(MIGRATIONS_DIR);
    await query(database.url, PRISMA_MIGRATIONS_DDL);
    await query(database.url, "INSERT INTO _prisma_migrations (id, checksum, migration_name) VALUES (gen_random_uuid(), $1, $2)", [
      first.checksum,
      first.name,
    ]);

    const attempt = applyMigrations(database.url, { logger: silentLogger });

    await expect(attempt).rejects.toBeInstanceOf(MigrationError);
    await expect(attempt).rejects.toThrow(`prisma migrate recorded migration ${first.name} as failed`);
  });
});
