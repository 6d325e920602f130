import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { PrismaClient } from "../../server/db/client";
import { startRunQueue, type PgBoss } from "../../server/runs/queue";
import { importTask, launchRun } from "../../server/runs/service";
import { syntheticTask } from "../helpers/engine";
import { createTestDatabase, findFreePort, stopTestServer, type TestDatabase } from "../setup/database";
import { killWorkers, spawnWorker, TEST_BACKENDS, waitForStatus } from "./harness";

// The pool's one model is an OpenAI-compatible endpoint on a closed loopback port. Real
// backends do not exist yet, so the worker gets its backend from the test module: a minimal
// fetch client for "unreachable", and one that always fails with HTTP 401 for "rejecting".

let database: TestDatabase;
let prisma: PrismaClient;
let boss: PgBoss;
let poolId: string;
let taskId: string;
let endpoint: string;

beforeAll(async () => {
  // launchRun accepts a pool without simulated models only when a test backend is configured.
  process.env.HSWARM_TEST_BACKEND_MODULE = TEST_BACKENDS;
  database = await createTestDatabase();
  prisma = database.prisma;
  boss = await startRunQueue(database.url);
  endpoint = `http://127.0.0.1:${await findFreePort()}/v1`;

  const pool = await prisma.pool.create({
    data: {
      name: "remote",
      models: { create: [{ index: 0, name: "remote-model", backend: "openai", endpoint, modelName: "served-model", generationSettings: {} }] },
    },
  });
  poolId = pool.id;
  taskId = (await importTask(prisma, syntheticTask(4, 4), "task")).id;
});

afterEach(async () => {
  await killWorkers();
});

afterAll(async () => {
  delete process.env.HSWARM_TEST_BACKEND_MODULE;
  await boss?.stop({ graceful: false, wait: true });
  await database?.drop();
  await stopTestServer();
});

describe("worker with a failing backend", () => {
  it("pauses a run whose endpoint stays unreachable", async () => {
    const { id } = await launchRun(prisma, boss, { poolId, taskId, config: { graphs: 2, assignments: 1, maxIterations: 1 } });
    const worker = spawnWorker(database.url, { HSWARM_TEST_BACKEND: "unreachable", HSWARM_STEP_RETRIES: "2" });

    const run = await waitForStatus(prisma, id, ["paused", "failed", "completed"], [worker]);
    const events = await prisma.runEvent.findMany({ where: { runId: id }, orderBy: { id: "asc" } });

    expect(run.status).toBe("paused");
    expect(run.lastError).toContain('model "remote-model"');
    expect(run.lastError).toContain(endpoint);
    expect(run.lastError).toContain("failed 3 times");
    expect(run.leaseOwner).toBeNull();
    expect(events.filter((event) => event.level === "warn")).toHaveLength(2);
    expect(events.at(-1)?.level).toBe("error");
    expect(events.at(-1)?.data).toEqual({ model: "remote-model", endpoint, retryable: true });
    expect(await prisma.runStep.count({ where: { runId: id } })).toBe(0);
  });

  it("fails a run whose endpoint rejects the request", async () => {
    const { id } = await launchRun(prisma, boss, { poolId, taskId, config: { graphs: 2, assignments: 1, maxIterations: 1 } });
    const worker = spawnWorker(database.url, { HSWARM_TEST_BACKEND: "rejecting" });

    const run = await waitForStatus(prisma, id, ["paused", "failed", "completed"], [worker]);
    const warnings = await prisma.runEvent.count({ where: { runId: id, level: "warn" } });

    expect(run.status).toBe("failed");
    expect(run.lastError).toBe(`model "remote-model" at ${endpoint} rejected the request: HTTP 401: invalid API key. Fix the model's settings, then resume the run.`);
    expect(run.finishedAt).not.toBeNull();
    expect(warnings).toBe(0);
  });

  it("fails a run whose pool became invalid", async () => {
    const { id } = await launchRun(prisma, boss, { poolId, taskId, config: {} });
    // Edited behind the API's back after launch: an openai model's weights cannot move.
    await prisma.poolModel.updateMany({ where: { poolId }, data: { weightCapable: true } });
    const worker = spawnWorker(database.url, { HSWARM_TEST_BACKEND: "none" });

    const run = await waitForStatus(prisma, id, ["paused", "failed", "completed"], [worker]);
    await prisma.poolModel.updateMany({ where: { poolId }, data: { weightCapable: false } });

    expect(run.status).toBe("failed");
    expect(run.lastError).toContain('"remote-model"');
    expect(run.lastError).toContain("weightCapable must be false");
  });
});
