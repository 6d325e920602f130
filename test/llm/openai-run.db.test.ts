import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { PrismaClient } from "../../server/db/client";
import { startRunQueue, type PgBoss } from "../../server/runs/queue";
import { importTask, launchRun } from "../../server/runs/service";
import { syntheticTask } from "../helpers/engine";
import { killWorkers, spawnWorker, waitForStatus } from "../runs/harness";
import { createTestDatabase, stopTestServer, type TestDatabase } from "../setup/database";
import { closedEndpoint, FakeOpenAIServer } from "./fake-openai-server";

// Worker runs on pools of openai models: a real worker process calls the fake OpenAI-compatible
// server of this test process on 127.0.0.1 through the openai backend. The worker gets no test
// backend (HSWARM_TEST_BACKEND is unset), so it builds the pool's backend as in production.

const config = { graphs: 2, assignments: 1, maxIterations: 1 };
/** Fast retries, so that a failing endpoint pauses the run within seconds. */
const generationSettings = { temperature: 0, maxTokens: 64, topP: 1, maxAttempts: 2, retryBaseDelayMs: 10 };

let database: TestDatabase;
let prisma: PrismaClient;
let boss: PgBoss;
let fake: FakeOpenAIServer;
let taskId: string;

beforeAll(async () => {
  database = await createTestDatabase();
  prisma = database.prisma;
  boss = await startRunQueue(database.url);
  fake = await FakeOpenAIServer.start({ latencyMs: 2, apiKey: "sk-fake-key" });
  taskId = (await importTask(prisma, syntheticTask(4, 4), "task")).id;
});

afterEach(async () => {
  await killWorkers();
});

afterAll(async () => {
  await fake?.close();
  await boss?.stop({ graceful: false, wait: true });
  await database?.drop();
  await stopTestServer();
});

async function createPool(name: string, endpoint: string, apiKey: string, modelNames = ["alpha", "beta", "gamma"]) {
  const models = modelNames.map((modelName, index) => ({
    index,
    name: `${modelName}-model`,
    backend: "openai" as const,
    endpoint,
    modelName,
    apiKey,
    generationSettings,
  }));
  return prisma.pool.create({ data: { name, models: { create: models } } });
}

describe("worker with openai models", () => {
  it("completes a run against an OpenAI-compatible server", async () => {
    const pool = await createPool("remote", fake.baseURL, "sk-fake-key");
    const before = fake.completionRequests().length;

    const { id } = await launchRun(prisma, boss, { poolId: pool.id, taskId, config });
    const worker = spawnWorker(database.url);
    const run = await waitForStatus(prisma, id, ["completed", "paused", "failed"], [worker]);
    const sent = fake.completionRequests().length - before;
    const cached = await prisma.generationCacheEntry.count();

    expect(run.status).toBe("completed");
    expect(run.callsDone).toBeGreaterThan(0);
    expect(sent).toBe(run.callsDone);
    expect(Number(run.tokens)).toBeGreaterThan(0);
    expect(cached).toBe(run.callsDone);
    expect(new Set(fake.completionRequests().map((request) => request.body?.model))).toEqual(new Set(["alpha", "beta", "gamma"]));
  });

  it("answers a repeated run from the database cache", async () => {
    const pool = await prisma.pool.findFirstOrThrow({ where: { name: "remote" } });
    const before = fake.completionRequests().length;

    const { id } = await launchRun(prisma, boss, { poolId: pool.id, taskId, config });
    const worker = spawnWorker(database.url);
    const run = await waitForStatus(prisma, id, ["completed", "paused", "failed"], [worker]);

    expect(run.status).toBe("completed");
    expect(run.callsDone).toBe(0);
    expect(run.cacheHits).toBeGreaterThan(0);
    expect(fake.completionRequests().length).toBe(before);
  });

  it("pauses a run whose endpoint is down, naming model and endpoint", async () => {
    const endpoint = await closedEndpoint();
    const pool = await createPool("down", endpoint, "sk-fake-key");

    const { id } = await launchRun(prisma, boss, { poolId: pool.id, taskId, config });
    const worker = spawnWorker(database.url, { HSWARM_STEP_RETRIES: "1" });
    const run = await waitForStatus(prisma, id, ["completed", "paused", "failed"], [worker]);

    expect(run.status).toBe("paused");
    expect(run.lastError).toMatch(/model "(alpha|beta|gamma)-model" at /);
    expect(run.lastError).toContain(endpoint);
    expect(run.lastError).toContain("ECONNREFUSED");
    expect(run.lastError).toContain("Resume the run once the endpoint is reachable.");
  });

  it("fails a run whose API key is rejected", async () => {
    // Other model names than the first pool's, whose outputs the database cache holds: the
    // key is not part of a cache key, so those calls would never reach the server.
    const pool = await createPool("wrong key", fake.baseURL, "sk-wrong-key", ["delta", "epsilon"]);

    const { id } = await launchRun(prisma, boss, { poolId: pool.id, taskId, config });
    const worker = spawnWorker(database.url);
    const run = await waitForStatus(prisma, id, ["completed", "paused", "failed"], [worker]);

    expect(run.status).toBe("failed");
    expect(run.lastError).toMatch(/model "(delta|epsilon)-model" at /);
    expect(run.lastError).toContain("HTTP 401 (invalid_api_key): Incorrect API key provided");
    expect(run.lastError).toContain(fake.baseURL);
    expect(run.lastError).not.toContain("sk-wrong-key");
  });
});
