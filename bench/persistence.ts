import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import type { SearchResult } from "../server/core/result";
import type { Dataset } from "../server/core/types";
import { createPrismaClient } from "../server/db/client";
import { applyMigrations } from "../server/db/migrate";
import { startRunQueue } from "../server/runs/queue";
import { importTask, launchRun, seedSimulatedPool } from "../server/runs/service";
import { loadDatasetFile } from "../server/tasks/load";
import { openScratchDatabase } from "./database";
import { printTable } from "./table";

// Persistence benchmark: the paper-scale run (simulated pool complementary-10, N = 10, M = 10,
// 200 dev items, 20 iterations) executed by a real worker process against PostgreSQL, with
// every step and checkpoint written. Uses a scratch database on the server of DATABASE_URL or
// TEST_DATABASE_URL (dropped afterwards), else an embedded server in a temporary folder.

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(benchDir, "..");
const datasetsDir = process.env.HSWARM_DATASETS ?? path.resolve(root, "../shared/datasets");
const silent = pino({ level: "silent" });
const ITERATIONS = 20;
const TIMEOUT_MS = 15 * 60_000;


/** Runs the paper-scale search through a worker process and prints its figures. Throws on a broken run. */
export async function persistenceBenchmark(): Promise<void> {
  const scratch = await openScratchDatabase("hswarm_bench");
  let worker: WorkerHandle | null = null;
  const prisma = createPrismaClient(scratch.url);
  try {
    await applyMigrations(scratch.url, { logger: silent });
    const boss = await startRunQueue(scratch.url);
    const dataset = paperScaleDataset();
    const pool = await seedSimulatedPool(prisma, "complementary-10", "bench complementary-10");
    const task = await importTask(prisma, dataset, `bench ${dataset.name}`, "exact_match");

    const spawnedAt = performance.now();
    worker = startWorker(scratch.url);
    await worker.ready;
    const startupSeconds = (performance.now() - spawnedAt) / 1000;

    // Patience is lifted so that the run always takes all 20 iterations.
    const config = { seed: 1, graphs: 10, assignments: 10, maxIterations: ITERATIONS, patience: 1000 };
    const launchedAt = performance.now();
    const { id } = await launchRun(prisma, boss, { poolId: pool.id, taskId: task.id, config });
    await boss.stop({ graceful: false, wait: true });

    const run = await waitUntilDone(prisma, id, worker);
    const seconds = (performance.now() - launchedAt) / 1000;
    const peakRss = peakRssOf(worker.child.pid as number);
    const steps = await prisma.runStep.count({ where: { runId: id } });
    const checkpointBytes = (await prisma.$queryRaw<{ bytes: number }[]>`SELECT pg_column_size("checkpoint")::int AS bytes FROM "run" WHERE "id" = ${id}`)[0]?.bytes ?? 0;

    if (run.status !== "completed") throw new Error(`the persisted run ended ${run.status}: ${run.lastError ?? "no error recorded"}\n${worker.output().slice(-3000)}`);
    const result = run.result as unknown as SearchResult;
    if (result.iterations !== ITERATIONS) throw new Error(`the persisted run stopped after ${result.iterations} iterations instead of ${ITERATIONS}`);

    printTable("persistence: paper-scale run by a worker process, every step written to PostgreSQL", [
      {
        database: scratch.label,
        "wall time (s)": seconds.toFixed(1),
        steps,
        "steps/s": (steps / seconds).toFixed(2),
        "node evaluations/s": Math.round(result.calls.reference / seconds),
        "backend calls": result.calls.backend,
        "checkpoint (KiB)": Math.round(checkpointBytes / 1024),
        "worker peak RSS (MiB)": peakRss === null ? "n/a" : Math.round(peakRss / 2 ** 20),
        "worker start-up (s)": startupSeconds.toFixed(1),
      },
    ]);
    const rss = peakRss === null ? "peak RSS not available (no /proc)" : `worker peak RSS ${Math.round(peakRss / 2 ** 20)} MiB (target ≤ 512 MiB)`;
    console.log(`persistence: ${seconds.toFixed(1)} s from launch to completed with ${steps} steps persisted (target ≤ 60 s on 2 cores), ${rss}`);
  } finally {
    if (worker) await worker.stop();
    await prisma.$disconnect();
    await scratch.dispose();
  }
}

/** Loads 200 dev and 200 test items of nlgraph, or makes synthetic items when the datasets are absent. */
function paperScaleDataset(): Dataset {
  const file = path.join(datasetsDir, "nlgraph.json");
  if (existsSync(file)) {
    const dataset = loadDatasetFile(file);
    return { ...dataset, dev: dataset.dev.slice(0, 200), test: dataset.test.slice(0, 200) };
  }
  console.log(`note: ${file} not found; using 200 synthetic dev items instead`);
  const item = (i: number) => ({ question: `Synthetic question ${i}: what is ${i} + ${i}?`, answer: String(2 * i), domain: `d${i % 4}` });
  return { name: "synthetic", dev: Array.from({ length: 200 }, (_, i) => item(i)), test: Array.from({ length: 200 }, (_, i) => item(1000 + i)) };
}

interface WorkerHandle {
  child: ChildProcess;
  ready: Promise<void>;
  output(): string;
  stop(): Promise<void>;
}

function startWorker(url: string): WorkerHandle {
  const child = spawn(process.execPath, ["--import", "tsx", "server/worker/main.ts"], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: url, LOG_LEVEL: "info", HSWARM_POLL_SECONDS: "0.5" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('"msg":"worker started"')) resolve();
    });
    child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("exit", (code) => reject(new Error(`the worker exited with code ${code} before it started:\n${output.slice(-3000)}`)));
  });
  ready.catch(() => undefined);

  return {
    child,
    ready,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}

async function waitUntilDone(prisma: ReturnType<typeof createPrismaClient>, runId: string, worker: WorkerHandle) {
  const deadline = Date.now() + TIMEOUT_MS;
  for (;;) {
    const run = await prisma.run.findUniqueOrThrow({ where: { id: runId } });
    if (["completed", "failed", "paused", "cancelled"].includes(run.status)) return run;
    if (worker.child.exitCode !== null) throw new Error(`the worker exited with code ${worker.child.exitCode} during the run:\n${worker.output().slice(-3000)}`);
    if (Date.now() > deadline) throw new Error(`the persisted run did not finish within ${TIMEOUT_MS / 60_000} minutes`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Peak resident set size of a process in bytes, from VmHWM in /proc/<pid>/status (Linux only). */
function peakRssOf(pid: number): number | null {
  try {
    const match = /^VmHWM:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}
