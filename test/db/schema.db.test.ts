import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Prisma } from "../../generated/prisma/client";
import type { PrismaClient } from "../../server/db/client";
import { createTestDatabase, stopTestServer, type TestDatabase } from "../setup/database";

let database: TestDatabase;
let prisma: PrismaClient;

beforeAll(async () => {
  database = await createTestDatabase();
  prisma = database.prisma;
});

afterAll(async () => {
  await database?.drop();
  await stopTestServer();
});

const settings = { temperature: 0, maxTokens: 512, topP: 1 };

async function createPool(name: string) {
  return prisma.pool.create({
    data: {
      name,
      models: {
        create: [
          { index: 1, name: "coder", backend: "openai", endpoint: "http://127.0.0.1:8000/v1", modelName: "qwen", generationSettings: settings, apiKey: "sk-test" },
          { index: 0, name: "expert-0", backend: "simulated", modelName: "sim-0", generationSettings: settings, simulatedPreset: "complementary", simulatedParams: { skill: 0.7 }, weightCapable: true },
        ],
      },
    },
  });
}

async function createTask(name: string) {
  return prisma.task.create({
    data: {
      name,
      metric: "multiple_choice",
      promptTemplates: { firstStep: "Q: {question}", laterStep: "Q: {question}\n{previous}", keepNewlines: false },
      iclPrompt: "Example: ...",
      items: {
        create: [
          { split: "dev", index: 0, question: "2+2?", answer: "B", choices: { A: "3", B: "4" }, domain: "math", externalId: "17" },
          { split: "dev", index: 1, question: "Capital of France?", answer: "A", choices: { A: "Paris", B: "Rome" }, externalId: "17" },
          { split: "test", index: 0, question: "Summarise.", answer: "x", contextChunks: ["chunk one", "chunk two"] },
        ],
      },
    },
  });
}

async function createRun(poolId: string, taskId: string) {
  return prisma.run.create({ data: { poolId, taskId, method: "hswarm", config: { graphParticles: 10 }, seed: 1 } });
}

async function expectPrismaError(action: Promise<unknown>, code: string): Promise<void> {
  const error = await action.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(Prisma.PrismaClientKnownRequestError);
  expect((error as Prisma.PrismaClientKnownRequestError).code).toBe(code);
}

describe("database schema", () => {
  it("stores a pool's models in index order", async () => {
    const pool = await createPool("pool-order");

    const models = await prisma.poolModel.findMany({ where: { poolId: pool.id }, orderBy: { index: "asc" } });

    expect(models.map((model) => model.index)).toEqual([0, 1]);
    expect(models[0].backend).toBe("simulated");
    expect(models[0].simulatedParams).toEqual({ skill: 0.7 });
    expect(models[0].weightCapable).toBe(true);
    expect(models[1].apiKey).toBe("sk-test");
    expect(models[1].generationSettings).toEqual(settings);
    expect(models[1].weightCapable).toBe(false);
  });

  it("stores a task's items with their optional fields", async () => {
    const task = await createTask("task-items");

    const items = await prisma.taskItem.findMany({ where: { taskId: task.id }, orderBy: [{ split: "asc" }, { index: "asc" }] });

    expect(items).toHaveLength(3);
    expect(items[0].choices).toEqual({ A: "3", B: "4" });
    expect(items[0].domain).toBe("math");
    expect(items[1].externalId).toBe(items[0].externalId);
    expect(items[2].split).toBe("test");
    expect(items[2].contextChunks).toEqual(["chunk one", "chunk two"]);
    expect(items[2].choices).toBeNull();
  });

  it("round-trips a run with steps, results, events and a system", async () => {
    const pool = await createPool("pool-run");
    const task = await createTask("task-run");
    const run = await createRun(pool.id, task.id);
    const checkpoint = { iteration: 3, rng: [1, 2, 3, 4], positions: [[0, 0.5], [0.25, 0]] };
    const best = { dag: { n: 2, edges: [[1, 0]], end: 0, placement: [0, 1] }, utility: 0.75 };

    await prisma.$transaction([
      prisma.runStep.create({ data: { runId: run.id, index: 0, kind: "init", iteration: 0, graphs: [{ utility: 0.5 }], models: [], best } }),
      prisma.runStep.create({ data: { runId: run.id, index: 1, kind: "role", iteration: 1, graphs: [{ utility: 0.75 }], models: [{ jfk: 0.4, coefficients: [1, 0] }], best } }),
      prisma.run.update({
        where: { id: run.id },
        data: { status: "running", iteration: 1, checkpoint, callsDone: { increment: 40 }, cacheHits: { increment: 7 }, tokens: { increment: 3_000_000_000 } },
      }),
    ]);
    await prisma.itemResult.createMany({
      data: [
        { runId: run.id, subject: "system", split: "test", itemIndex: 0, correct: true, score: 1, output: "B" },
        { runId: run.id, subject: "model:0", split: "test", itemIndex: 0, correct: false, score: 0 },
      ],
    });
    await prisma.runEvent.create({ data: { runId: run.id, level: "warn", message: "endpoint retried", data: { status: 429 } } });
    await prisma.system.create({ data: { runId: run.id, name: "best of run", definition: best } });

    const stored = await prisma.run.findUniqueOrThrow({
      where: { id: run.id },
      include: { steps: { orderBy: { index: "asc" } }, itemResults: { orderBy: { subject: "asc" } }, events: true, systems: true },
    });

    expect(stored.status).toBe("running");
    expect(stored.checkpoint).toEqual(checkpoint);
    expect(stored.callsDone).toBe(40);
    expect(stored.cacheHits).toBe(7);
    expect(stored.tokens).toBe(3_000_000_000n);
    expect(stored.steps.map((step) => step.kind)).toEqual(["init", "role"]);
    expect(stored.steps[1].models).toEqual([{ jfk: 0.4, coefficients: [1, 0] }]);
    expect(stored.steps[1].best).toEqual(best);
    expect(stored.itemResults.map((result) => result.subject)).toEqual(["model:0", "system"]);
    expect(stored.itemResults[1].output).toBe("B");
    expect(stored.events[0].data).toEqual({ status: 429 });
    expect(stored.systems[0].definition).toEqual(best);
  });

  it("gives a new run its initial counters", async () => {
    const pool = await createPool("pool-defaults");
    const task = await createTask("task-defaults");

    const run = await createRun(pool.id, task.id);

    expect(run.status).toBe("queued");
    expect(run.iteration).toBe(0);
    expect(run.callsDone).toBe(0);
    expect(run.tokens).toBe(0n);
    expect(run.checkpoint).toBeNull();
    expect(run.startedAt).toBeNull();
  });

  it("stores generation cache entries by key", async () => {
    await prisma.generationCacheEntry.create({ data: { key: "hash-1", text: "answer", promptTokens: 12, completionTokens: 3 } });

    const entry = await prisma.generationCacheEntry.findUnique({ where: { key: "hash-1" } });

    expect(entry?.text).toBe("answer");
    expect(entry?.promptTokens).toBe(12);
  });
});

describe("database constraints", () => {
  it("rejects a second pool with the same name", async () => {
    await createPool("pool-unique");

    await expectPrismaError(createPool("pool-unique"), "P2002");
  });

  it("rejects two models at one pool index", async () => {
    const pool = await createPool("pool-index");

    await expectPrismaError(
      prisma.poolModel.create({ data: { poolId: pool.id, index: 0, name: "dup", backend: "simulated", modelName: "m", generationSettings: settings } }),
      "P2002",
    );
  });

  it("rejects two items at one split position", async () => {
    const task = await createTask("task-position");

    await expectPrismaError(prisma.taskItem.create({ data: { taskId: task.id, split: "dev", index: 0, question: "q", answer: "a" } }), "P2002");
  });

  it("rejects two steps with one index in a run", async () => {
    const run = await createRun((await createPool("pool-steps")).id, (await createTask("task-steps")).id);
    const step = { runId: run.id, index: 0, kind: "init" as const, iteration: 0, graphs: [], models: [], best: {} };
    await prisma.runStep.create({ data: step });

    await expectPrismaError(prisma.runStep.create({ data: step }), "P2002");
  });

  it("rejects a second result for one subject and item", async () => {
    const run = await createRun((await createPool("pool-results")).id, (await createTask("task-results")).id);
    const result = { runId: run.id, subject: "system", split: "dev" as const, itemIndex: 3, correct: true, score: 1 };
    await prisma.itemResult.create({ data: result });

    await expectPrismaError(prisma.itemResult.create({ data: result }), "P2002");
  });

  it("deletes a run's steps, results and events with the run and keeps its systems", async () => {
    const run = await createRun((await createPool("pool-cascade")).id, (await createTask("task-cascade")).id);
    await prisma.runStep.create({ data: { runId: run.id, index: 0, kind: "init", iteration: 0, graphs: [], models: [], best: {} } });
    await prisma.itemResult.create({ data: { runId: run.id, subject: "system", split: "dev", itemIndex: 0, correct: true, score: 1 } });
    await prisma.runEvent.create({ data: { runId: run.id, level: "info", message: "started" } });
    const system = await prisma.system.create({ data: { runId: run.id, name: "kept", definition: {} } });

    await prisma.run.delete({ where: { id: run.id } });

    expect(await prisma.runStep.count({ where: { runId: run.id } })).toBe(0);
    expect(await prisma.itemResult.count({ where: { runId: run.id } })).toBe(0);
    expect(await prisma.runEvent.count({ where: { runId: run.id } })).toBe(0);
    expect((await prisma.system.findUniqueOrThrow({ where: { id: system.id } })).runId).toBeNull();
  });

  it("rejects deleting a pool that a run uses", async () => {
    const pool = await createPool("pool-in-use");
    await createRun(pool.id, (await createTask("task-in-use")).id);

    await expectPrismaError(prisma.pool.delete({ where: { id: pool.id } }), "P2003");
  });

  it("deletes a pool's models with an unused pool", async () => {
    const pool = await createPool("pool-unused");

    await prisma.pool.delete({ where: { id: pool.id } });

    expect(await prisma.poolModel.count({ where: { poolId: pool.id } })).toBe(0);
  });
});
