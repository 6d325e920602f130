import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";
import { createTestDatabase, findFreePort, stopTestServer, type TestDatabase } from "../setup/database";

// Starts what the browser tests need, once for all spec files: a fresh database, the production
// build of the web app (`next build`, skipped with HSWARM_E2E_SKIP_BUILD=1 when .next is
// current), `next start` on 127.0.0.1 and one worker whose simulated backend waits
// HSWARM_E2E_CALL_DELAY_MS per call. Specs read the app's address with inject("baseUrl").

declare module "vitest" {
  export interface ProvidedContext {
    baseUrl: string;
  }
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const CALL_DELAY_MS = "15";
const children: ChildProcess[] = [];
let stopping = false;

function startChild(label: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(process.execPath, args, { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
  const output: string[] = [];
  const keep = (chunk: Buffer) => {
    output.push(chunk.toString());
    if (output.length > 200) output.shift();
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  child.on("exit", (code, signal) => {
    if (stopping) return;
    if (code !== 0 && code !== null) process.stderr.write(`e2e: ${label} exited with code ${code}; its last output:\n${output.join("")}\n`);
    else if (signal !== null && signal !== "SIGTERM") process.stderr.write(`e2e: ${label} ended by ${signal}\n`);
  });
  children.push(child);
  return child;
}

async function waitForHttp(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = "no response";
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url);
      if (response.ok) return;
      lastError = `HTTP ${response.status}`;
    } catch (error) {
      lastError = (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`The web server at ${url} did not answer within ${timeoutMs} ms (last: ${lastError}).`);
}

function buildApp(): void {
  if (process.env.HSWARM_E2E_SKIP_BUILD === "1") return;
  const result = spawnSync(process.execPath, [path.join(root, "node_modules/next/dist/bin/next"), "build"], {
    cwd: root,
    env: { ...process.env, NODE_ENV: "production", NEXT_TELEMETRY_DISABLED: "1" },
    encoding: "utf8",
  });
  if (result.status !== 0) throw new Error(`next build failed with code ${result.status}:\n${result.stdout}\n${result.stderr}`);
}

async function stopChildren(): Promise<void> {
  stopping = true;
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once("exit", () => resolve());
          child.kill("SIGTERM");
          // A worker finishing its step, or next start with open SSE streams, gets 10 s.
          setTimeout(() => {
            if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
          }, 10_000).unref();
        }),
    ),
  );
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  buildApp();

  let database: TestDatabase | null = null;
  try {
    database = await createTestDatabase();
    const port = await findFreePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const common = { ...process.env, DATABASE_URL: database.url, LOG_LEVEL: "warn", NEXT_TELEMETRY_DISABLED: "1" };

    startChild("web server", [path.join(root, "node_modules/next/dist/bin/next"), "start", "-H", "127.0.0.1", "-p", String(port)], {
      ...common,
      NODE_ENV: "production",
    });
    startChild("worker", ["--import", "tsx", "server/worker/main.ts"], {
      ...common,
      NODE_ENV: "test",
      HSWARM_TEST_BACKEND_MODULE: path.join(root, "test/e2e/slow-backend.ts"),
      HSWARM_E2E_CALL_DELAY_MS: CALL_DELAY_MS,
      HSWARM_POLL_SECONDS: "0.5",
      HSWARM_SWEEP_SECONDS: "1",
    });
    await waitForHttp(`${baseUrl}/pools`, 60_000);
    project.provide("baseUrl", baseUrl);
  } catch (error) {
    await stopChildren();
    await database?.drop();
    await stopTestServer();
    throw error;
  }

  return async () => {
    await stopChildren();
    await database?.drop();
    await stopTestServer();
  };
}
