import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { SearchConfigInput } from "../../server/core/config";
import type { GenerationRequest, GenerationResult } from "../../server/core/types";
import type { PrismaClient } from "../../server/db/client";
import type { Backend } from "../../server/llm/backend";
import { GenerationCache } from "../../server/llm/cache";
import { DatabaseCacheStore } from "../../server/llm/db-cache-store";
import { startRunQueue, type PgBoss } from "../../server/runs/queue";
import { importTask, launchRun, seedSimulatedPool } from "../../server/runs/service";
import { syntheticTask } from "../helpers/engine";
import { createTestDatabase, stopTestServer, type TestDatabase } from "../setup/database";
import { canonicalJson, killWorkers, runInProcess, spawnWorker, waitForStatus, waitForSteps, withoutCalls } from "./harness";

let database: TestDatabase;
let prisma: PrismaClient;
const logDir = mkdtempSync(path.join(os.tmpdir(), "hswarm-calls-"));

beforeAll(async () => {
  database = await createTestDatabase();
  prisma = database.prisma;
});

afterEach(async () => {
  await killWorkers();
});

afterAll(async () => {
  await database?.drop();
  await stopTestServer();
  rmSync(logDir, { recursive: true, force: true });
});

/** A paid backend stand-in that counts its calls and echoes the prompt. */
class CountingBackend implements Backend {
  calls = 0;

  modelIdentity(model: number): string {
    return `counting:model-${model}`;
  }

  async generate(request: GenerationRequest): Promise<GenerationResult> {
    this.calls += 1;
    return { text: `The answer is ${request.prompt.length % 4}.`, promptTokens: 10, completionTokens: 5 };
  }
}

function request(prompt: string): GenerationRequest {
  const item = { question: prompt, answer: "A" };
  return { model: 0, coefficients: [1, 0], prompt, settings: { temperature: 0, maxTokens: 16, topP: 1 }, item, previousResponses: [] };
}

function readLog(file: string): string[] {
  return existsSync(file) ? readFileSync(file, "utf8").split("\n").filter((line) => line !== "") : [];
}

describe("DatabaseCacheStore", () => {
  it("returns what was stored", async () => {
    const store = new DatabaseCacheStore(prisma);
    await store.set("key-1", { text: "hello", promptTokens: 3, completionTokens: 1 });
    await store.set("key-2", { text: "no counts" });

    expect(await store.get("key-1")).toEqual({ text: "hello", promptTokens: 3, completionTokens: 1 });
    expect(await store.get("key-2")).toEqual({ text: "no counts" });
    expect(await store.get("missing")).toBeUndefined();
  });

  it("keeps the first entry of a key", async () => {
    const store = new DatabaseCacheStore(prisma);
    await store.set("same", { text: "first" });
    await store.set("same", { text: "second" });

    expect(await store.get("same")).toEqual({ text: "first" });
  });

  it("skips outputs that PostgreSQL text cannot hold", async () => {
    const store = new DatabaseCacheStore(prisma);
    await store.set("nul", { text: "before\u0000after" });

    expect(await store.get("nul")).toBeUndefined();
  });

  it("spares a new cache the calls an earlier one paid for", async () => {
    const backend = new CountingBackend();
    const prompts = ["one", "two", "three"];
    const first = new GenerationCache(backend, new DatabaseCacheStore(prisma));
    const answers = await Promise.all(prompts.map((prompt) => first.generate(request(prompt))));

    const second = new GenerationCache(backend, new DatabaseCacheStore(prisma));
    const again = await Promise.all(prompts.map((prompt) => second.generate(request(prompt))));

    expect(backend.calls).toBe(prompts.length);
    expect(again).toEqual(answers);
    expect(second.usage().backendCalls).toBe(0);
    expect(second.usage().cacheHits).toBe(prompts.length);
  });
});

describe("worker with a paid backend", () => {
  const config: SearchConfigInput = { seed: 2, graphs: 4, assignments: 3, maxIterations: 3 };
  const dataset = syntheticTask();
  let boss: PgBoss;

  beforeAll(async () => {
    boss = await startRunQueue(database.url);
  });

  afterAll(async () => {
    await boss?.stop({ graceful: false, wait: true });
  });

  it("repeats no stored call after a resume", async () => {
    const pool = await seedSimulatedPool(prisma, "complementary", "paid");
    const task = await importTask(prisma, dataset, "synthetic");
    const { id } = await launchRun(prisma, boss, { poolId: pool.id, taskId: task.id, config });
    const env = { HSWARM_TEST_BACKEND: "counting", HSWARM_TEST_LATENCY_MS: "10" };
    const firstLog = path.join(logDir, "first.log");
    const secondLog = path.join(logDir, "second.log");

    const first = spawnWorker(database.url, { ...env, HSWARM_TEST_CALL_LOG: firstLog });
    await waitForSteps(prisma, id, 2, [first]);
    first.child.kill("SIGKILL");
    await first.exited;
    const storedBefore = new Set((await prisma.generationCacheEntry.findMany({ select: { key: true } })).map((entry) => entry.key));

    const second = spawnWorker(database.url, { ...env, HSWARM_TEST_CALL_LOG: secondLog });
    const run = await waitForStatus(prisma, id, ["completed", "failed", "paused"], [second]);
    const secondCalls = readLog(secondLog);
    const expected = await runInProcess(dataset, "complementary", config, { name: "synthetic", metric: "multiple_choice" });

    expect(run.status).toBe("completed");
    expect(readLog(firstLog).length).toBeGreaterThan(0);
    expect(storedBefore.size).toBeGreaterThan(0);
    expect(secondCalls.length).toBeGreaterThan(0);
    expect(secondCalls.filter((key) => storedBefore.has(key))).toEqual([]);
    expect(new Set(secondCalls).size).toBe(secondCalls.length);
    expect(run.cacheHits).toBeGreaterThan(0);
    expect(canonicalJson(withoutCalls(run.result))).toBe(canonicalJson(withoutCalls(expected.result)));
  });
});
