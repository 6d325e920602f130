import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Dataset } from "../../server/core/types";
import type { PrismaClient } from "../../server/db/client";
import { OperationalError } from "../../server/errors";
import { SIMULATED_PRESETS, SimulatedBackend } from "../../server/llm/simulated";
import { buildPool, loadPoolModels, loadTask } from "../../server/runs/loader";
import { startRunQueue, type PgBoss } from "../../server/runs/queue";
import { cancelRun, importTask, launchRun, pauseRun, resumeRun, seedSimulatedPool } from "../../server/runs/service";
import { syntheticTask } from "../helpers/engine";
import { createTestDatabase, stopTestServer, type TestDatabase } from "../setup/database";
import { listenToRuns } from "./harness";

let database: TestDatabase;
let prisma: PrismaClient;
let boss: PgBoss;
let poolId: string;
let taskId: string;

beforeAll(async () => {
  database = await createTestDatabase();
  prisma = database.prisma;
  boss = await startRunQueue(database.url);
  poolId = (await seedSimulatedPool(prisma, "complementary", "pool")).id;
  taskId = (await importTask(prisma, syntheticTask(8, 8), "task")).id;
});

afterAll(async () => {
  await boss?.stop({ graceful: false, wait: true });
  await database?.drop();
  await stopTestServer();
});

/** Awaits `action` and returns the OperationalError it threw; fails the test otherwise. */
async function operationalError(action: Promise<unknown>): Promise<OperationalError> {
  const error = await action.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(OperationalError);
  return error as OperationalError;
}

async function jobsOf(runId: string): Promise<number> {
  const rows = await prisma.$queryRawUnsafe<{ count: bigint }[]>(`SELECT count(*) AS count FROM pgboss.job WHERE singleton_key = $1 AND state = 'created'`, runId);
  return Number(rows[0].count);
}

describe("importTask", () => {
  it("stores every item field and loads it back", async () => {
    const dataset: Dataset = {
      name: "fields",
      icl_prompt: "Example: 1 + 1 = 2.",
      dev: [
        { question: "Pick one.", answer: "B", choices: { A: "one", B: "two", C: "three" }, domain: "math", id: 7 },
        { question: "No domain.", answer: "A", choices: { A: "x", B: "y" } },
      ],
      test: [{ question: "Long context.", answer: "C", choices: { A: "a", B: "b", C: "c" }, context_chunks: ["first chunk", "second chunk"], id: "t-1" }],
    };
    const task = await importTask(prisma, dataset, "fields");
    const loaded = await loadTask(prisma, task.id);

    expect(loaded.metric).toBe("multiple_choice");
    expect(loaded.dataset.icl_prompt).toBe(dataset.icl_prompt);
    expect(loaded.dataset.dev).toEqual([{ ...dataset.dev[0], id: "7" }, dataset.dev[1]]);
    expect(loaded.dataset.test).toEqual(dataset.test);
    expect(Object.keys(loaded.dataset.dev[0].choices ?? {})).toEqual(["A", "B", "C"]);
  });

  it("rejects a name that is taken", async () => {
    const error = await operationalError(importTask(prisma, syntheticTask(2, 2), "task"));
    expect(error.code).toBe("CONFLICT");
    expect(error.message).toContain('"task"');
  });

  it("rejects a dataset without items", async () => {
    const error = await operationalError(importTask(prisma, { name: "empty", dev: [], test: [] }, "empty"));
    expect(error.code).toBe("BAD_REQUEST");
    expect(await prisma.task.count({ where: { name: "empty" } })).toBe(0);
  });
});

describe("seedSimulatedPool", () => {
  it("creates the preset's experts in order", async () => {
    const pool = await seedSimulatedPool(prisma, "complementary-10", "ten");
    const names = SIMULATED_PRESETS["complementary-10"].experts.map((expert) => expert.name);

    expect(pool.models.map((model) => model.name)).toEqual(names);
    expect(pool.models.map((model) => model.index)).toEqual(names.map((_, i) => i));
    expect(pool.models.every((model) => model.weightCapable && model.backend === "simulated")).toBe(true);
  });

  it("loads into a pool that answers like the preset", async () => {
    const loaded = buildPool(await loadPoolModels(prisma, poolId), ["algebra", "biology"]);
    const preset = new SimulatedBackend(SIMULATED_PRESETS.complementary, ["algebra", "biology"]);
    const item = syntheticTask(1, 1).dev[0];
    const request = { model: 2, coefficients: null, prompt: "Question?", settings: { temperature: 0, maxTokens: 64, topP: 1 }, item, previousResponses: [] };

    expect(loaded.info.names).toEqual(SIMULATED_PRESETS.complementary.experts.map((expert) => expert.name));
    expect(await loaded.backend.generate(request)).toEqual(await preset.generate(request));
  });

  it("rejects an unknown preset", async () => {
    const error = await operationalError(seedSimulatedPool(prisma, "no-such-preset", "other"));
    expect(error.code).toBe("BAD_REQUEST");
    expect(error.message).toContain("complementary");
  });

  it("rejects a name that is taken", async () => {
    const error = await operationalError(seedSimulatedPool(prisma, "complementary", "pool"));
    expect(error.code).toBe("CONFLICT");
  });
});

describe("buildPool", () => {
  it("rejects an openai model marked weight-capable", async () => {
    const pool = await prisma.pool.create({
      data: {
        name: "remote",
        models: {
          create: [{ index: 0, name: "remote-model", backend: "openai", endpoint: "http://127.0.0.1:9/v1", modelName: "m", generationSettings: {}, weightCapable: true }],
        },
      },
    });
    const error = await operationalError(Promise.resolve().then(async () => buildPool(await loadPoolModels(prisma, pool.id), [])));

    expect(error.code).toBe("BAD_REQUEST");
    expect(error.message).toContain('"remote-model"');
    expect(error.message).toContain("weightCapable must be false");
  });
});

describe("launchRun", () => {
  it("queues a run with its resolved configuration and a job", async () => {
    const listener = await listenToRuns(database.url);
    const run = await launchRun(prisma, boss, { poolId, taskId, config: { seed: 5, graphs: 4 } });
    await listener.close();
    const config = run.config as { seed: number; graphs: number; assignments: number };

    expect(run.status).toBe("queued");
    expect(run.seed).toBe(5);
    expect(run.method).toBe("heterogeneous-swarms");
    expect(config.graphs).toBe(4);
    expect(config.assignments).toBe(10);
    expect(run.callsExpected).toBeGreaterThan(0);
    expect(await jobsOf(run.id)).toBe(1);
    expect(listener.notifications).toContainEqual({ runId: run.id, stepIndex: null, status: "queued" });
  });

  it("rejects an invalid configuration and creates nothing", async () => {
    const before = await prisma.run.count();
    const error = await operationalError(launchRun(prisma, boss, { poolId, taskId, config: { graphs: 1, colour: "blue" } as never }));

    expect(error.code).toBe("BAD_REQUEST");
    expect(error.message).toContain("graphs");
    expect(error.message).toContain("colour");
    expect(await prisma.run.count()).toBe(before);
  });

  it("rejects an unknown pool or task", async () => {
    const pool = await operationalError(launchRun(prisma, boss, { poolId: "missing", taskId, config: {} }));
    const task = await operationalError(launchRun(prisma, boss, { poolId, taskId: "missing", config: {} }));

    expect(pool.code).toBe("NOT_FOUND");
    expect(task.code).toBe("NOT_FOUND");
  });

  it("rejects a task without test items", async () => {
    const devOnly = await importTask(prisma, { name: "dev-only", dev: syntheticTask(3, 0).dev, test: [] }, "dev-only");
    const error = await operationalError(launchRun(prisma, boss, { poolId, taskId: devOnly.id, config: {} }));

    expect(error.code).toBe("BAD_REQUEST");
    expect(error.message).toContain("0 test items");
  });

  it("rejects a pool without models", async () => {
    const empty = await prisma.pool.create({ data: { name: "empty" } });
    const error = await operationalError(launchRun(prisma, boss, { poolId: empty.id, taskId, config: {} }));

    expect(error.code).toBe("BAD_REQUEST");
    expect(error.message).toContain("no models");
  });
});

describe("run status changes", () => {
  it("pause, resume and cancel a queued run", async () => {
    const { id } = await launchRun(prisma, boss, { poolId, taskId, config: {} });

    const paused = await pauseRun(prisma, id);
    expect(paused.status).toBe("paused");

    await prisma.$executeRawUnsafe(`DELETE FROM pgboss.job WHERE singleton_key = $1`, id);
    const resumed = await resumeRun(prisma, boss, id);
    expect(resumed.status).toBe("queued");
    expect(await jobsOf(id)).toBe(1);

    const cancelled = await cancelRun(prisma, id);
    expect(cancelled.status).toBe("cancelled");
    expect(cancelled.finishedAt).not.toBeNull();
  });

  it("rejects changes a status does not allow", async () => {
    const { id } = await launchRun(prisma, boss, { poolId, taskId, config: {} });
    await prisma.run.update({ where: { id }, data: { status: "completed" } });

    const resume = await operationalError(resumeRun(prisma, boss, id));
    const cancel = await operationalError(cancelRun(prisma, id));
    const pause = await operationalError(pauseRun(prisma, id));

    expect(resume.code).toBe("CONFLICT");
    expect(resume.message).toBe(`run ${id} is completed, so it cannot be resumed; only paused or failed runs can be resumed`);
    expect(cancel.code).toBe("CONFLICT");
    expect(pause.code).toBe("CONFLICT");
  });

  it("rejects an unknown run", async () => {
    const error = await operationalError(pauseRun(prisma, "missing"));
    expect(error.code).toBe("NOT_FOUND");
  });

  it("records each change as an event", async () => {
    const { id } = await launchRun(prisma, boss, { poolId, taskId, config: {} });
    await pauseRun(prisma, id);
    await cancelRun(prisma, id);
    const events = await prisma.runEvent.findMany({ where: { runId: id }, orderBy: { id: "asc" } });

    expect(events.map((event) => event.message)).toEqual([expect.stringMatching(/^queued: /), "paused by the user", "cancelled by the user"]);
  });
});
