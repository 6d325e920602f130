import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { SearchConfigInput } from "../../server/core/config";
import type { PrismaClient } from "../../server/db/client";
import { RUN_QUEUE } from "../../server/runs/contracts";
import { startRunQueue, type PgBoss } from "../../server/runs/queue";
import { cancelRun, importTask, launchRun, pauseRun, resumeRun, seedSimulatedPool } from "../../server/runs/service";
import { syntheticTask } from "../helpers/engine";
import { createTestDatabase, stopTestServer, type TestDatabase } from "../setup/database";
import {
  canonicalJson,
  killWorkers,
  listenToRuns,
  runInProcess,
  spawnWorker,
  waitForRelease,
  waitForStatus,
  waitForSteps,
  withoutCalls,
  type InProcessRun,
} from "./harness";

const CONFIG: SearchConfigInput = { seed: 3, graphs: 4, assignments: 3, maxIterations: 3 };
const TASK_NAME = "synthetic";
const dataset = syntheticTask();
/** Latency per backend call that makes a run last a few seconds, so a test can act mid-run. */
const SLOW = { HSWARM_TEST_BACKEND: "slow", HSWARM_TEST_LATENCY_MS: "10" };

let database: TestDatabase;
let prisma: PrismaClient;
let boss: PgBoss;
let poolId: string;
let taskId: string;
let expected: InProcessRun;

beforeAll(async () => {
  database = await createTestDatabase();
  prisma = database.prisma;
  boss = await startRunQueue(database.url);
  poolId = (await seedSimulatedPool(prisma, "complementary", "complementary")).id;
  taskId = (await importTask(prisma, dataset, TASK_NAME)).id;
  expected = await runInProcess(dataset, "complementary", CONFIG, { name: TASK_NAME, metric: "multiple_choice" });
});

afterEach(async () => {
  await killWorkers();
});

afterAll(async () => {
  await boss?.stop({ graceful: false, wait: true });
  await database?.drop();
  await stopTestServer();
});

async function launch(): Promise<string> {
  return (await launchRun(prisma, boss, { poolId, taskId, config: CONFIG })).id;
}

async function startedEvents(runId: string) {
  const events = await prisma.runEvent.findMany({ where: { runId }, orderBy: { id: "asc" } });
  return events.filter((event) => / by worker /.test(event.message));
}

describe("worker", () => {
  it("completes a run with the in-process result", async () => {
    const listener = await listenToRuns(database.url);
    const runId = await launch();
    const worker = spawnWorker(database.url);

    const run = await waitForStatus(prisma, runId, ["completed", "failed", "paused"], [worker]);
    await listener.close();
    const steps = await prisma.runStep.findMany({ where: { runId }, orderBy: { index: "asc" } });
    const items = await prisma.itemResult.findMany({ where: { runId } });

    expect(run.status).toBe("completed");
    expect(run.lastError).toBeNull();
    expect(canonicalJson(run.result)).toBe(canonicalJson(expected.result));
    expect(steps.map((step) => step.index)).toEqual(Array.from({ length: expected.final.stepIndex }, (_, i) => i));
    expect(steps[0].kind).toBe("init");
    expect(steps[steps.length - 1].kind).toBe("final");
    expect(run.callsDone).toBe(expected.result.calls.backend);
    expect(run.cacheHits).toBe(expected.result.calls.cacheHits);
    expect(run.iteration).toBe(expected.result.iterations);
    expect(run.finishedAt).not.toBeNull();
    expect(run.leaseOwner).toBeNull();
    expect(items).toHaveLength((expected.result.models.length + 1) * dataset.test.length);
    const systemCorrect = items.filter((item) => item.subject === "system").sort((a, b) => a.itemIndex - b.itemIndex).map((item) => item.correct);
    expect(systemCorrect).toEqual(expected.final.result?.testCorrect.system);
    const stepNotifications = listener.notifications.filter((n) => n.runId === runId && n.stepIndex !== null);
    expect(stepNotifications.map((n) => n.stepIndex)).toEqual(steps.map((step) => step.index));
    expect(listener.notifications.at(-1)?.status).toBe("completed");
  });

  it("stores each step's graphs, models and best system", async () => {
    const runId = await launch();
    const worker = spawnWorker(database.url);
    await waitForStatus(prisma, runId, ["completed"], [worker]);

    const role = await prisma.runStep.findFirstOrThrow({ where: { runId, kind: "role" } });
    const weight = await prisma.runStep.findFirstOrThrow({ where: { runId, kind: "weight" } });
    const graphs = role.graphs as { position: number[]; dag: { n: number }; utility: number }[];
    const models = weight.models as { jfk: number[]; coefficients: number[][]; assignments: unknown[] };
    const best = weight.best as { dev: number; assignment: number[]; foundAtStep: number };

    expect(graphs).toHaveLength(4);
    expect(graphs[0].position).toHaveLength(6 * 6);
    expect(graphs[0].dag.n).toBe(6);
    expect(typeof graphs[0].utility).toBe("number");
    expect(models.jfk).toHaveLength(6);
    expect(models.coefficients).toHaveLength(6);
    expect(models.assignments).toHaveLength(3);
    expect(best.assignment).toHaveLength(6);
    expect(best.foundAtStep).toBeLessThanOrEqual(weight.index);
  });

  it("resumes a killed worker's run from its checkpoint", async () => {
    const runId = await launch();
    const first = spawnWorker(database.url, SLOW);
    const stepsBeforeKill = await waitForSteps(prisma, runId, 2, [first]);
    first.child.kill("SIGKILL");
    await first.exited;
    const second = spawnWorker(database.url, SLOW);

    const run = await waitForStatus(prisma, runId, ["completed", "failed", "paused"], [second]);
    const steps = await prisma.runStep.findMany({ where: { runId }, orderBy: { index: "asc" } });
    const started = await startedEvents(runId);

    expect(run.status).toBe("completed");
    expect(stepsBeforeKill).toBeLessThan(expected.final.stepIndex);
    expect(canonicalJson(withoutCalls(run.result))).toBe(canonicalJson(withoutCalls(expected.result)));
    expect(steps.map((step) => step.index)).toEqual(Array.from({ length: expected.final.stepIndex }, (_, i) => i));
    expect(started).toHaveLength(2);
    expect(started[1].message).toMatch(/^resumed from step \d+ by worker /);
  });

  it("runs a run on one worker when two start at once", async () => {
    const runId = await launch();
    // Extra jobs for the same run, as a repeated delivery would give, so that both workers get one.
    await boss.send(RUN_QUEUE, { runId });
    await boss.send(RUN_QUEUE, { runId });
    const workers = [spawnWorker(database.url, SLOW), spawnWorker(database.url, SLOW)];

    const run = await waitForStatus(prisma, runId, ["completed", "failed", "paused"], workers);
    const steps = await prisma.runStep.findMany({ where: { runId }, orderBy: { index: "asc" } });
    const started = await startedEvents(runId);

    expect(run.status).toBe("completed");
    expect(started).toHaveLength(1);
    expect(steps.map((step) => step.index)).toEqual(Array.from({ length: expected.final.stepIndex }, (_, i) => i));
    expect(canonicalJson(run.result)).toBe(canonicalJson(expected.result));
  });

  it("pauses after the current step and resumes to the same result", async () => {
    const runId = await launch();
    const worker = spawnWorker(database.url, SLOW);
    await waitForSteps(prisma, runId, 2, [worker]);

    await pauseRun(prisma, runId);
    const paused = await waitForRelease(prisma, runId, [worker]);
    const stepsWhilePaused = await prisma.runStep.count({ where: { runId } });
    const stopEvent = await prisma.runEvent.findFirst({ where: { runId, message: { startsWith: "stopped after step" } } });

    expect(paused.status).toBe("paused");
    expect(stepsWhilePaused).toBeLessThan(expected.final.stepIndex);
    expect(stopEvent).not.toBeNull();

    await resumeRun(prisma, boss, runId);
    const run = await waitForStatus(prisma, runId, ["completed", "failed"], [worker]);
    const steps = await prisma.runStep.findMany({ where: { runId }, orderBy: { index: "asc" } });

    expect(run.status).toBe("completed");
    expect(canonicalJson(withoutCalls(run.result))).toBe(canonicalJson(withoutCalls(expected.result)));
    expect(steps.map((step) => step.index)).toEqual(Array.from({ length: expected.final.stepIndex }, (_, i) => i));
  });

  it("stops a cancelled run without writing further steps", async () => {
    const runId = await launch();
    const worker = spawnWorker(database.url, SLOW);
    await waitForSteps(prisma, runId, 2, [worker]);

    await cancelRun(prisma, runId);
    const stepsAtCancel = await prisma.runStep.count({ where: { runId } });
    const run = await waitForRelease(prisma, runId, [worker]);
    const stepsAfter = await prisma.runStep.count({ where: { runId } });

    expect(run.status).toBe("cancelled");
    expect(run.result).toBeNull();
    expect(run.finishedAt).not.toBeNull();
    expect(stepsAfter).toBe(stepsAtCancel);
  });

  it("gives a run back to the queue on SIGTERM", async () => {
    const runId = await launch();
    const worker = spawnWorker(database.url, SLOW);
    await waitForSteps(prisma, runId, 2, [worker]);

    worker.child.kill("SIGTERM");
    const code = await worker.exited;
    const run = await prisma.run.findUniqueOrThrow({ where: { id: runId } });

    expect(code).toBe(0);
    expect(run.status).toBe("queued");
    expect(run.leaseOwner).toBeNull();

    const next = spawnWorker(database.url);
    const done = await waitForStatus(prisma, runId, ["completed", "failed"], [next]);
    expect(done.status).toBe("completed");
    expect(canonicalJson(withoutCalls(done.result))).toBe(canonicalJson(withoutCalls(expected.result)));
  });
});
