import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Prisma } from "../../generated/prisma/client";
import { resolveConfig } from "../../server/core/config";
import { estimateCalls } from "../../server/core/estimate";
import { buildResult } from "../../server/core/result";
import { runSearch } from "../../server/core/search";
import { RUN_QUEUE } from "../../server/runs/contracts";
import { createHarness, syntheticTask } from "../helpers/engine";
import { createApiHarness, type ApiHarness } from "./context";

let api: ApiHarness;
let poolId: string;
let taskId: string;

const SECRET = "sk-export-0d9e8f7a6b5c";

beforeAll(async () => {
  api = await createApiHarness();
  poolId = (await api.caller.pools.createFromPreset({ preset: "complementary", name: "runs pool" })).id;
  const task = syntheticTask(8, 6);
  const lines = [
    ...task.dev.map((item) => JSON.stringify({ split: "dev", ...item })),
    ...task.test.map((item) => JSON.stringify({ split: "test", ...item })),
  ];
  taskId = (await api.caller.tasks.import({ name: "runs task", format: "jsonl", text: lines.join("\n") })).id;
});

afterAll(async () => {
  await api?.close();
});

async function rejectionOf(call: Promise<unknown>): Promise<TRPCError> {
  const error = await call.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(TRPCError);
  return error as TRPCError;
}

async function jobsOf(runId: string): Promise<number> {
  const rows = await api.db.prisma.$queryRaw<{ count: bigint }[]>`
    SELECT count(*) AS count FROM pgboss.job WHERE name = ${RUN_QUEUE} AND data->>'runId' = ${runId}`;
  return Number(rows[0].count);
}

describe("runs", () => {
  it("launches a queued run and enqueues its job", async () => {
    const run = await api.caller.runs.launch({ poolId, taskId, config: { graphs: 3, assignments: 2, maxIterations: 2 } });

    expect(run.status).toBe("queued");
    expect(run.task.name).toBe("runs task");
    expect(run.pool.name).toBe("runs pool");
    expect(run.progress.callsExpected).toBeGreaterThan(0);
    expect(await jobsOf(run.id)).toBe(1);
  });

  it("rejects an invalid configuration, naming the field", async () => {
    const error = await rejectionOf(api.caller.runs.launch({ poolId, taskId, config: { graphs: 1 } }));

    expect(error.code).toBe("BAD_REQUEST");
    expect(error.message).toContain("config.graphs");
  });

  it("pauses, resumes and cancels", async () => {
    const run = await api.caller.runs.launch({ poolId, taskId, config: { seed: 2 } });

    expect((await api.caller.runs.pause({ id: run.id })).status).toBe("paused");
    expect((await api.caller.runs.resume({ id: run.id })).status).toBe("queued");
    expect((await api.caller.runs.cancel({ id: run.id })).status).toBe("cancelled");
  });

  it("rejects resuming a cancelled run with CONFLICT", async () => {
    const run = await api.caller.runs.launch({ poolId, taskId, config: { seed: 3 } });
    await api.caller.runs.cancel({ id: run.id });

    const error = await rejectionOf(api.caller.runs.resume({ id: run.id }));

    expect(error.code).toBe("CONFLICT");
  });

  it("lists runs filtered by status", async () => {
    const cancelled = await api.caller.runs.list({ status: "cancelled" });

    expect(cancelled.length).toBeGreaterThanOrEqual(2);
    expect(cancelled.every((run) => run.status === "cancelled")).toBe(true);
  });

  it("returns the run's log in order", async () => {
    const run = await api.caller.runs.launch({ poolId, taskId, config: { seed: 4 } });
    await api.caller.runs.pause({ id: run.id });
    const events = await api.caller.runs.events({ runId: run.id });

    expect(events.map((event) => event.message)).toEqual([expect.stringContaining("queued"), "paused by the user"]);
  });

  it("returns steps in index order", async () => {
    const run = await api.caller.runs.launch({ poolId, taskId, config: { seed: 5 } });
    await api.caller.runs.cancel({ id: run.id });
    for (const index of [2, 0, 1]) {
      await api.db.prisma.runStep.create({ data: { runId: run.id, index, kind: "role", iteration: index, graphs: [], models: {}, best: {} } });
    }

    const steps = await api.caller.runs.steps({ runId: run.id });
    const later = await api.caller.runs.steps({ runId: run.id, afterIndex: 0 });

    expect(steps.map((step) => step.index)).toEqual([0, 1, 2]);
    expect(steps[0].best).toBeNull();
    expect(later.map((step) => step.index)).toEqual([1, 2]);
  });

  it("lists the configuration defaults, help and methods", async () => {
    const options = await api.caller.runs.configOptions();

    expect(options.defaults.graphs).toBe(10);
    expect(options.help.graphs).toContain("graph particles");
    expect(options.methods).toContain("heterogeneous-swarms");
  });

  it("reports an unknown run as NOT_FOUND", async () => {
    const error = await rejectionOf(api.caller.runs.get({ id: "missing" }));

    expect(error.code).toBe("NOT_FOUND");
  });
});

describe("runs.estimate", () => {
  it("returns the formula's reference calls for the pool and task", async () => {
    const config = { graphs: 4, assignments: 3, maxIterations: 5, devLimit: 5 };
    const estimate = await api.caller.runs.estimate({ poolId, taskId, config });
    const expected = estimateCalls({
      modelCount: 6,
      weightCapableCount: 6,
      devItems: 8,
      testItems: 6,
      metric: "multiple_choice",
      config: resolveConfig(config),
    });

    expect(estimate.totalCalls).toBe(expected.totalCalls);
    expect(estimate.devItems).toBe(5);
    expect(estimate.stepsPlanned).toBe(2 + 2 * 5);
  });

  it("has no token estimate before a completed run", async () => {
    const estimate = await api.caller.runs.estimate({ poolId, taskId });

    expect(estimate.tokens).toBeNull();
  });

  it("estimates tokens from completed runs of the same pool and task", async () => {
    await api.db.prisma.run.create({
      data: { poolId, taskId, method: "heterogeneous-swarms", config: resolveConfig({}), seed: 9, status: "completed", callsDone: 100, tokens: 25_000n },
    });
    const estimate = await api.caller.runs.estimate({ poolId, taskId, config: { maxIterations: 1 } });

    expect(estimate.tokens?.perCall).toBe(250);
    expect(estimate.tokens?.total).toBe(250 * estimate.totalCalls);
  });
});

describe("systems", () => {
  let runId: string;

  beforeAll(async () => {
    // A finished search over the same simulated pool, stored the way the worker stores one.
    const config = { graphs: 3, assignments: 2, maxIterations: 1, seed: 11 };
    const harness = createHarness(syntheticTask(8, 6), "complementary", config);
    const final = await runSearch(harness.initial, harness.context);
    const result = buildResult(final, harness.pool.info, { name: "runs task", metric: "multiple_choice" });
    await api.db.prisma.poolModel.updateMany({ where: { poolId, index: 0 }, data: { apiKey: SECRET } });

    const run = await api.db.prisma.run.create({
      data: {
        poolId,
        taskId,
        method: "heterogeneous-swarms",
        config: resolveConfig(config),
        seed: 11,
        status: "completed",
        result: result as unknown as Prisma.InputJsonValue,
        checkpoint: final as unknown as Prisma.InputJsonValue,
      },
    });
    runId = run.id;
  });

  it("exports a completed run's best system", async () => {
    const system = await api.caller.systems.export({ runId, name: "best of 11" });
    const run = await api.db.prisma.run.findUniqueOrThrow({ where: { id: runId } });
    const spec = (run.checkpoint as { result: { best: { spec: { assignment: number[]; dag: { edges: unknown } } } } }).result.best.spec;

    expect(system.definition.assignment).toEqual(spec.assignment);
    expect(system.definition.dag.edges).toEqual(spec.dag.edges);
    expect(system.definition.models).toHaveLength(6);
    expect(system.definition.promptTemplates.firstStep).toBe("Please answer the following question.");
    expect(system.definition.source.runId).toBe(runId);
  });

  it("leaves API keys out of the definition", async () => {
    const systems = await api.caller.systems.list();
    const system = await api.caller.systems.get({ id: systems[0].id });

    expect(JSON.stringify([systems, system])).not.toContain(SECRET);
  });

  it("lists exported systems", async () => {
    const systems = await api.caller.systems.list();

    expect(systems.map((system) => system.name)).toContain("best of 11");
    expect(systems[0].nodeCount).toBe(6);
  });

  it("rejects exporting an unfinished run", async () => {
    const run = await api.caller.runs.launch({ poolId, taskId, config: { seed: 12 } });

    const error = await rejectionOf(api.caller.systems.export({ runId: run.id }));

    expect(error.code).toBe("CONFLICT");
    expect(error.message).toContain("is queued");
  });

  it("deletes a system", async () => {
    const system = await api.caller.systems.export({ runId });
    await api.caller.systems.delete({ id: system.id });

    expect(await api.db.prisma.system.count({ where: { id: system.id } })).toBe(0);
  });
});
