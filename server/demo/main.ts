import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { openDatabase } from "../db/client";
import { loadDatasetFile } from "../tasks/load";
import { getBoss } from "../queue";
import { importTask, launchRun, seedSimulatedPool } from "../runs/service";

// `npm run demo`: starts everything a user needs on one machine. The database is DATABASE_URL
// or an embedded PostgreSQL in ./data/pg; then one worker and the web server start, a demo pool
// and task are created when missing, and a demo run is launched. Ctrl-C stops it all.

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const port = Number(process.env.PORT ?? 3000);
const DEMO_POOL = "demo: complementary (simulated)";
const DEMO_TASK = "demo: arithmetic and yes/no";

const children: ChildProcess[] = [];

function start(command: string, args: string[], env: NodeJS.ProcessEnv, label: string): ChildProcess {
  const child = spawn(command, args, { cwd: root, env, stdio: ["ignore", "inherit", "inherit"] });
  child.on("exit", (code, signal) => {
    if (!stopping) console.error(`demo: ${label} exited (${signal ?? `code ${code}`}); stopping`);
    void stop(1);
  });
  children.push(child);
  return child;
}

let stopping = false;

async function stop(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    for (const child of children) if (child.exitCode === null) child.kill("SIGTERM");
    await Promise.all(children.map((child) => (child.exitCode === null ? new Promise((resolve) => child.once("exit", resolve)) : null)));
  }
  process.exit(code);
}

async function main(): Promise<void> {
  const { url, prisma } = await openDatabase();
  const env = { ...process.env, DATABASE_URL: url, NEXT_TELEMETRY_DISABLED: "1" };

  start(process.execPath, ["--import", "tsx", "server/worker/main.ts"], env, "worker");
  start(process.execPath, [path.join(root, "node_modules/next/dist/bin/next"), "dev", "-H", "127.0.0.1", "-p", String(port)], env, "web server");

  const pool = (await prisma.pool.findUnique({ where: { name: DEMO_POOL } })) ?? (await seedSimulatedPool(prisma, "complementary", DEMO_POOL));
  const task =
    (await prisma.task.findUnique({ where: { name: DEMO_TASK } })) ??
    (await importTask(prisma, loadDatasetFile(path.join(root, "examples/demo-task.json")), DEMO_TASK));
  const boss = await getBoss(url);
  const run = await launchRun(prisma, boss, { poolId: pool.id, taskId: task.id, config: { seed: 1 } });

  console.log(`\nHSwarm demo: a search runs on the simulated pool "${DEMO_POOL}".`);
  console.log(`Open http://127.0.0.1:${port}/runs/${run.id} to watch it (Ctrl-C stops the demo).\n`);
}

process.on("SIGINT", () => void stop(0));
process.on("SIGTERM", () => void stop(0));
main().catch((error: unknown) => {
  console.error(`demo: ${error instanceof Error ? error.message : String(error)}`);
  void stop(1);
});
