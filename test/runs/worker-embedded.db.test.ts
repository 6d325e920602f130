import { rmSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { createPrismaClient } from "../../server/db/client";
import { findRunningServer, startEmbeddedPostgres, stopEmbeddedPostgres } from "../../server/db/embedded";
import { startRunQueue } from "../../server/runs/queue";
import { importTask, launchRun, seedSimulatedPool } from "../../server/runs/service";
import { syntheticTask } from "../helpers/engine";
import { findFreePort, makeTempDataDir, silentLogger } from "../setup/database";
import { killWorkers, spawnWorker, waitFor, waitForSteps } from "./harness";

const dataDirs: string[] = [];

afterAll(async () => {
  await killWorkers();
  for (const dataDir of dataDirs) {
    await stopEmbeddedPostgres({ dataDir });
    rmSync(dataDir, { recursive: true, force: true });
  }
});

describe("worker on the embedded server", () => {
  it("gives its run back before it stops the server on SIGTERM", async () => {
    const dataDir = await makeTempDataDir("hswarm-worker-pg-");
    dataDirs.push(dataDir);
    const port = await findFreePort();
    const worker = spawnWorker("", {
      DATABASE_URL: "",
      HSWARM_EMBEDDED_PG_DIR: dataDir,
      HSWARM_EMBEDDED_PG_PORT: String(port),
      HSWARM_TEST_BACKEND: "slow",
      HSWARM_TEST_LATENCY_MS: "10",
    });
    await waitFor("the worker to start", async () => worker.output().includes('"msg":"worker started"'), [worker]);

    // This process connects to the server that the worker started, so the worker owns it.
    const server = await startEmbeddedPostgres({ dataDir, port, logger: silentLogger });
    const prisma = createPrismaClient(server.url);
    const boss = await startRunQueue(server.url);
    const pool = await seedSimulatedPool(prisma, "complementary", "pool");
    const task = await importTask(prisma, syntheticTask(), "task");
    const { id } = await launchRun(prisma, boss, { poolId: pool.id, taskId: task.id, config: { graphs: 4, assignments: 3, maxIterations: 3 } });
    await boss.stop({ graceful: false, wait: true });
    await waitForSteps(prisma, id, 2, [worker]);

    worker.child.kill("SIGTERM");
    const code = await worker.exited;
    await prisma.$disconnect().catch(() => undefined);
    const serverAfterExit = await findRunningServer(dataDir);

    // Start the server again, from this process, to read what the worker left behind.
    await stopEmbeddedPostgres({ dataDir });
    const restarted = await startEmbeddedPostgres({ dataDir, port, logger: silentLogger });
    const reader = createPrismaClient(restarted.url);
    const run = await reader.run.findUniqueOrThrow({ where: { id } });
    await reader.$disconnect();

    expect(server.startedHere).toBe(false);
    expect(code).toBe(0);
    expect(worker.output()).toContain('"msg":"worker stopped"');
    expect(serverAfterExit).toBeNull();
    expect(run.status).toBe("queued");
    expect(run.leaseOwner).toBeNull();
  });
});
