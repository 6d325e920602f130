import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { pino } from "pino";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { resolveConfig, type SearchConfig } from "../server/core/config";
import { estimateCalls } from "../server/core/estimate";
import { createSearchState, searchStep, type SearchState, type StepRecord } from "../server/core/search";
import type { Dataset } from "../server/core/types";
import { createPrismaClient, type PrismaClient } from "../server/db/client";
import { applyMigrations } from "../server/db/migrate";
import { createSearchContext, datasetDomains } from "../server/engine";
import { GenerationCache } from "../server/llm/cache";
import { buildPool, loadPoolModels, loadTask } from "../server/runs/loader";
import { persistStep, type StepWrite } from "../server/runs/persist";
import { importTask, seedSimulatedPool } from "../server/runs/service";
import { freePort, openScratchDatabase } from "./database";
import { printTable, type Row } from "./table";

// Run page benchmark: a running run of 200 iterations over the simulated pool complementary-10
// (n = 10, N = 10, M = 10), whose 401 steps the in-process engine computes and the worker's
// persistStep writes. It measures, in Chromium against `next start`, the first render of
// /runs/<id> and the latency from a step's commit (with its NOTIFY) to the page drawing it.
// Uses a scratch database on the server of DATABASE_URL or TEST_DATABASE_URL (dropped
// afterwards), else an embedded server in a temporary folder.

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const silent = pino({ level: "silent" });

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Iterations stored before the page opens: init plus a role- and a weight-step each, 401 steps. */
const STORED_ITERATIONS = 200;
/** Steps appended while the page is open; each is one latency sample. */
const LIVE_STEPS = 20;
/** The run's maxIterations covers the live steps, so that none of them is the final step. */
const MAX_ITERATIONS = STORED_ITERATIONS + LIVE_STEPS / 2;
const FIRST_RENDER_REPEATS = 5;
const DEV_ITEMS = 20;
const MODELS = 10;
/** Lease owner written on the run, so that persistStep accepts the bench's writes. */
const OWNER = "bench-ui";
/** Pause between live steps, so that one step's render does not overlap the next step's commit. */
const LIVE_GAP_MS = 400;
/** A page that shows nothing within this time is broken, not slow. */
const SHOW_TIMEOUT_MS = 60_000;

const FIRST_RENDER_TARGET_MS = 1500;
const LIVE_TARGET_MS = 1000;

interface PreparedStep {
  previous: SearchState;
  state: SearchState;
  record: StepRecord;
}

type StepWriteContext = Pick<StepWrite, "pool" | "task">;

interface GeneratedSteps {
  stored: number;
  seconds: number;
  stepBytes: number;
  /** Steps computed but not written, for the live phase. */
  live: PreparedStep[];
  /** The pool and task as persistStep needs them. */
  writeContext: StepWriteContext;
}

/** Prints the run page's first render and live update figures. Throws when the page never shows the run. */
export async function uiBenchmark(): Promise<void> {
  console.log(
    `UI benchmark: run page of a running run, simulated pool complementary-10 (n = ${MODELS}), N = 10, M = 10, ` +
      `${DEV_ITEMS} dev items, ${STORED_ITERATIONS} iterations stored (${2 * STORED_ITERATIONS + 1} steps), seed 1`,
  );
  // Browser, server and database share the machine, so the figures move with its load.
  console.log(`machine: ${cpus().length} CPUs, load average ${loadavg().map((load) => load.toFixed(2)).join(" ")} (1, 5, 15 min) at the start`);
  const scratch = await openScratchDatabase("hswarm_bench_ui");
  const prisma = createPrismaClient(scratch.url);
  let server: ServerHandle | null = null;
  let browser: BrowserHandle | null = null;
  try {
    await applyMigrations(scratch.url, { logger: silent });
    const seeded = await seedRun(prisma);
    const generated = await generateSteps(prisma, seeded);
    printTable("data: steps stored before the page opens", [
      {
        steps: generated.stored,
        "engine + persist time (s)": generated.seconds.toFixed(1),
        "step JSON (MiB)": (generated.stepBytes / 2 ** 20).toFixed(1),
        database: scratch.label,
      },
    ]);

    buildApp();
    server = await startServer(scratch.url);
    browser = await openBrowser();
    await browser.context.addInitScript(PAGE_RECORDER);
    const runUrl = `${server.baseUrl}/runs/${seeded.runId}`;
    const expected: ShownCheck = {
      lastStep: 2 * STORED_ITERATIONS,
      iterationText: `${STORED_ITERATIONS} / ${MAX_ITERATIONS}`,
      graphLines: 10 + 2,
      dagNodes: MODELS,
      jfkLines: MODELS,
    };

    const firstRenders = await measureFirstRenders(browser.context, runUrl, expected);
    printTable(`first render: navigation start until the run page shows all ${expected.lastStep + 1} steps (${FIRST_RENDER_REPEATS} fresh pages after one warm-up)`, [
      ...firstRenders.map((sample, i) => ({
        page: i + 1,
        "HTML received (ms)": sample.responseEnd.toFixed(0),
        "DOM content loaded (ms)": sample.domContentLoaded.toFixed(0),
        "steps loaded (ms)": sample.stepsLoaded.toFixed(0),
        "dashboard committed (ms)": sample.dashboardCommitted.toFixed(0),
        "first screen shown (ms)": sample.firstScreen.toFixed(0),
        "all charts drawn (ms)": sample.allDrawn.toFixed(0),
        "long tasks (ms)": sample.longTasks.toFixed(0),
        "JS heap (MiB)": sample.heapMiB === null ? "n/a" : sample.heapMiB.toFixed(0),
      })),
    ]);
    printTable("first render: summary over the pages above", [
      summaryRow("steps loaded", firstRenders.map((s) => s.stepsLoaded)),
      summaryRow("first screen shown", firstRenders.map((s) => s.firstScreen)),
      summaryRow("all charts drawn", firstRenders.map((s) => s.allDrawn)),
    ]);

    const page = await browser.context.newPage();
    await page.setViewportSize({ width: 1400, height: 900 });
    await page.goto(runUrl, { waitUntil: "commit" });
    await waitUntilShown(page, expected);
    await waitUntilAllDrawn(page, expected);
    await saveScreenshot(page, "run-200-iterations");

    const live = await measureLiveUpdates(prisma, page, seeded.runId, generated.live, generated.writeContext);
    printTable(`live update: commit of a step (with its NOTIFY) until the page draws it, ${LIVE_STEPS} steps ${LIVE_GAP_MS} ms apart`, [
      summaryRow("commit → SSE message", live.map((s) => s.message)),
      summaryRow("commit → DOM updated", live.map((s) => s.committed)),
      summaryRow("commit → next frame", live.map((s) => s.frame)),
      summaryRow("commit → lower charts' frame", live.map((s) => s.lowerFrame)),
    ]);

    const firstScreen = stats(firstRenders.map((s) => s.firstScreen));
    const allDrawn = stats(firstRenders.map((s) => s.allDrawn));
    const latency = stats(live.map((s) => s.frame));
    const lowerLatency = stats(live.map((s) => s.lowerFrame));
    console.log(
      `ui first render: first screen (progress, utility charts, best DAG) median ${formatStats(firstScreen)} for ${expected.lastStep + 1} steps ` +
        `(target ≤ ${FIRST_RENDER_TARGET_MS} ms: ${verdict(firstScreen, FIRST_RENDER_TARGET_MS)}); all charts median ${formatStats(allDrawn)}`,
    );
    console.log(
      `ui live update: first screen median ${formatStats(latency)} from commit to the next frame ` +
        `(target ≤ ${LIVE_TARGET_MS} ms: ${verdict(latency, LIVE_TARGET_MS)}); all charts median ${formatStats(lowerLatency)}`,
    );
  } finally {
    await browser?.close();
    await server?.stop();
    await prisma.$disconnect();
    await scratch.dispose();
  }
}

interface SeededRun {
  runId: string;
  poolId: string;
  taskId: string;
  config: SearchConfig;
}

/** Exact-match items over four domains, made up for the benchmark. */
function syntheticDataset(): Dataset {
  const item = (i: number) => ({ question: `Synthetic question ${i}: what is ${i} + ${i}?`, answer: String(2 * i), domain: `d${i % 4}` });
  return {
    name: "synthetic",
    dev: Array.from({ length: DEV_ITEMS }, (_, i) => item(i)),
    test: Array.from({ length: DEV_ITEMS }, (_, i) => item(1000 + i)),
  };
}

/** Creates the pool, the task and a running run that this process holds the lease of. */
async function seedRun(prisma: PrismaClient): Promise<SeededRun> {
  const suffix = randomBytes(3).toString("hex");
  const pool = await seedSimulatedPool(prisma, "complementary-10", `bench-ui complementary-10 ${suffix}`);
  const dataset = syntheticDataset();
  const task = await importTask(prisma, dataset, `bench-ui synthetic ${suffix}`, "exact_match");
  // Patience is lifted so that the search never stops early.
  const config = resolveConfig({ seed: 1, graphs: 10, assignments: 10, maxIterations: MAX_ITERATIONS, patience: 1000 });
  const callsExpected = estimateCalls({
    modelCount: pool.models.length,
    weightCapableCount: pool.models.filter((model) => model.weightCapable).length,
    devItems: dataset.dev.length,
    testItems: dataset.test.length,
    metric: "exact_match",
    config,
  }).totalCalls;

  const run = await prisma.run.create({
    data: {
      poolId: pool.id,
      taskId: task.id,
      method: config.method,
      seed: config.seed,
      config,
      status: "running",
      callsExpected,
      startedAt: new Date(),
      leaseOwner: OWNER,
      leaseUntil: new Date(Date.now() + 24 * 3600_000),
    },
  });
  return { runId: run.id, poolId: pool.id, taskId: task.id, config };
}

/**
 * Runs the search in process as the worker does, writing the first 401 steps with persistStep,
 * and returns the next LIVE_STEPS steps unwritten, for the live phase.
 */
async function generateSteps(prisma: PrismaClient, seeded: SeededRun): Promise<GeneratedSteps> {
  const task = await loadTask(prisma, seeded.taskId);
  const pool = buildPool(await loadPoolModels(prisma, seeded.poolId), datasetDomains(task.dataset), null);
  const cache = new GenerationCache(pool.backend);
  const context = createSearchContext({ dataset: task.dataset, metric: task.metric, pool, config: seeded.config, templates: task.templates }, cache);

  const writeContext: StepWriteContext = { pool: pool.info, task: { name: task.name, metric: task.metric } };
  const storedSteps = 2 * STORED_ITERATIONS + 1;
  const live: PreparedStep[] = [];
  const started = performance.now();
  let state = createSearchState(seeded.config, pool.info);

  for (let index = 0; index < storedSteps + LIVE_STEPS; index++) {
    // A copy, as in the worker, so that a later step cannot change a record not yet written.
    const { state: next, record } = await searchStep(structuredClone(state), context);
    if (record.kind === "final") throw new Error(`the search reached its final step at step ${index}; expected ${storedSteps + LIVE_STEPS} steps before it`);

    const prepared = { previous: state, state: next, record };
    if (index < storedSteps) await writeStep(prisma, seeded.runId, prepared, writeContext);
    else live.push(prepared);
    state = next;
  }

  const seconds = (performance.now() - started) / 1000;
  const bytes = await prisma.$queryRaw<{ bytes: bigint }[]>`
    SELECT COALESCE(SUM(octet_length("graphs"::text) + octet_length("models"::text) + octet_length("best"::text)), 0)::bigint AS bytes
    FROM "run_step" WHERE "runId" = ${seeded.runId}`;
  return { stored: storedSteps, seconds, stepBytes: Number(bytes[0]?.bytes ?? 0), live, writeContext };
}

async function writeStep(prisma: PrismaClient, runId: string, step: PreparedStep, context: StepWriteContext): Promise<void> {
  const outcome = await persistStep(prisma, {
    runId,
    owner: OWNER,
    leaseSeconds: 24 * 3600,
    previous: step.previous,
    state: step.state,
    record: step.record,
    ...context,
  });
  if (!outcome.written) throw new Error(`persisting step ${step.record.index} of run ${runId} failed: ${outcome.reason}`);
}

interface ShownCheck {
  /** Index of the last stored step, which the page's data-last-step must reach. */
  lastStep: number;
  /** Text of the progress panel's iteration figure, "200 / 210". */
  iterationText: string;
  /** Lines of the graph-side utility chart: one per graph particle plus the two bests. */
  graphLines: number;
  /** Nodes of the best DAG. */
  dagNodes: number;
  /** Lines of the JFK-score chart: one per pool model. */
  jfkLines: number;
}

/**
 * Waits, checking once per animation frame, until the page shows the run: the dashboard drew
 * step `lastStep`, the progress panel shows the iteration, the utility chart has its lines
 * with data and the best DAG its visible nodes. Returns performance.now() at that frame, in
 * milliseconds since navigation start.
 */
async function waitUntilShown(page: Page, check: ShownCheck): Promise<number> {
  try {
    const handle = await page.waitForFunction(
      (expected: ShownCheck) => {
        const dashboard = document.querySelector("[data-last-step]");
        if (dashboard === null || Number(dashboard.getAttribute("data-last-step")) < expected.lastStep) return false;
        if (!document.querySelector("[data-testid=progress]")?.textContent?.includes(expected.iterationText)) return false;

        const curves = [...document.querySelectorAll("[data-testid=graph-utility] .recharts-line path.recharts-curve")];
        if (curves.filter((curve) => (curve.getAttribute("d") ?? "").length > 0).length < expected.graphLines) return false;

        const nodes = [...document.querySelectorAll("[data-testid=best-dag] .react-flow__node")];
        if (nodes.length !== expected.dagNodes || nodes.some((node) => getComputedStyle(node).visibility === "hidden")) return false;
        return performance.now();
      },
      check,
      { polling: "raf", timeout: SHOW_TIMEOUT_MS },
    );
    return (await handle.jsonValue()) as number;
  } catch (error) {
    const file = await saveScreenshot(page, "run-200-iterations-failed").catch(() => "no screenshot");
    const state = await page
      .evaluate(() => ({ lastStep: document.querySelector("[data-last-step]")?.getAttribute("data-last-step") ?? "absent", text: document.body.innerText.slice(0, 600) }))
      .catch(() => ({ lastStep: "unknown", text: "" }));
    throw new Error(
      `the run page did not show the run within ${SHOW_TIMEOUT_MS} ms (data-last-step ${state.lastStep}, expected ${check.lastStep}; ` +
        `screenshot ${file}): ${(error as Error).message}\npage text: ${state.text}`,
      { cause: error },
    );
  }
}

/**
 * Script installed in every page before the app's scripts. It records long tasks and the
 * arrival of each SSE message by its event id (the index of the last step sent). It also
 * records each change of the dashboard's data-last-step (first screen) and data-lower-last-step
 * (the charts below it), with the animation frame after the change. Each time is kept as
 * Date.now(), which the live phase compares with the commit time, and as performance.now()
 * since navigation start.
 */
const PAGE_RECORDER = `
  (() => {
    const attributes = ["data-last-step", "data-lower-last-step"];
    const record = (window.__bench = { longTasks: 0, messages: {}, committed: {}, frames: {} });
    for (const attribute of attributes) {
      record.committed[attribute] = {};
      record.frames[attribute] = {};
    }
    const stamp = () => ({ at: Date.now(), since: performance.now() });
    try {
      new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) record.longTasks += entry.duration;
      }).observe({ type: "longtask", buffered: true });
    } catch {}

    const Original = window.EventSource;
    window.EventSource = class extends Original {
      constructor(...args) {
        super(...args);
        this.addEventListener("message", (event) => {
          const id = event.lastEventId;
          if (id && record.messages[id] === undefined) record.messages[id] = stamp();
        });
      }
    };

    const last = {};
    const observer = new MutationObserver(() => {
      for (const attribute of attributes) {
        const value = document.querySelector("[" + attribute + "]")?.getAttribute(attribute) ?? null;
        if (value === null || value === last[attribute]) continue;
        last[attribute] = value;
        record.committed[attribute][value] = stamp();
        requestAnimationFrame(() => (record.frames[attribute][value] = stamp()));
      }
    });
    const start = () => observer.observe(document.documentElement, { subtree: true, childList: true, attributes: true, attributeFilter: attributes });
    if (document.documentElement) start();
    else document.addEventListener("readystatechange", start, { once: true });
  })();
`;

interface Stamp {
  /** Date.now() in the browser. */
  at: number;
  /** performance.now(): milliseconds since navigation start. */
  since: number;
}

/** Times by attribute name, then by the attribute's value (a step index). */
type AttributeStamps = Record<"data-last-step" | "data-lower-last-step", Record<string, Stamp>>;

interface PageRecord {
  longTasks: number;
  messages: Record<string, Stamp>;
  committed: AttributeStamps;
  frames: AttributeStamps;
}

/**
 * Waits, once per animation frame, until the charts below the first screen drew step
 * `lastStep`: the JFK-score chart has its lines with data and the roles-over-iterations chart
 * its bars. Returns performance.now() at that frame.
 */
async function waitUntilAllDrawn(page: Page, check: ShownCheck): Promise<number> {
  try {
    const handle = await page.waitForFunction(
      (expected: ShownCheck) => {
        const lower = document.querySelector("[data-lower-last-step]");
        if (lower === null || Number(lower.getAttribute("data-lower-last-step")) < expected.lastStep) return false;
        const curves = [...document.querySelectorAll("[data-testid=jfk] .recharts-line path.recharts-curve")];
        if (curves.filter((curve) => (curve.getAttribute("d") ?? "").length > 0).length < expected.jfkLines) return false;
        if (document.querySelectorAll("[data-testid=roles-over-steps] .recharts-bar-rectangle").length === 0) return false;
        return performance.now();
      },
      check,
      { polling: "raf", timeout: SHOW_TIMEOUT_MS },
    );
    return (await handle.jsonValue()) as number;
  } catch (error) {
    throw new Error(`the charts below the run page's first screen did not show step ${check.lastStep} within ${SHOW_TIMEOUT_MS} ms: ${(error as Error).message}`, { cause: error });
  }
}

interface FirstRender {
  responseEnd: number;
  domContentLoaded: number;
  /** When the page had every stored step: the end of the runs.steps response, or the stream's message of the last step. */
  stepsLoaded: number;
  /** When data-last-step first reached the last stored step. */
  dashboardCommitted: number;
  /** When the first screen (progress, utility charts, best DAG) showed every stored step. */
  firstScreen: number;
  /** When the charts below the first screen were drawn too. */
  allDrawn: number;
  longTasks: number;
  heapMiB: number | null;
}

async function measureFirstRenders(context: BrowserContext, url: string, expected: ShownCheck): Promise<FirstRender[]> {
  const samples: FirstRender[] = [];
  // The first page only warms up the server's and the browser's caches.
  for (let i = 0; i <= FIRST_RENDER_REPEATS; i++) {
    const page = await context.newPage();
    await page.setViewportSize({ width: 1400, height: 900 });
    await page.goto(url, { waitUntil: "commit" });
    const firstScreen = await waitUntilShown(page, expected);
    const allDrawn = await waitUntilAllDrawn(page, expected);
    const timing = await page.evaluate((lastStep) => {
      const navigation = performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming | undefined;
      const memory = (performance as Performance & { memory?: { usedJSHeapSize: number } }).memory;
      const record = (window as unknown as { __bench: PageRecord }).__bench;
      const history = (performance.getEntriesByType("resource") as PerformanceResourceTiming[]).find((entry) => entry.name.includes("/api/trpc/runs.steps"));
      return {
        responseEnd: navigation?.responseEnd ?? Number.NaN,
        domContentLoaded: navigation?.domContentLoadedEventEnd ?? Number.NaN,
        stepsLoaded: history ? history.responseEnd : (record.messages[String(lastStep)]?.since ?? Number.NaN),
        dashboardCommitted: record.committed["data-last-step"][String(lastStep)]?.since ?? Number.NaN,
        longTasks: record.longTasks,
        heapMiB: memory ? memory.usedJSHeapSize / 2 ** 20 : null,
      };
    }, expected.lastStep);
    await page.close();
    if (i > 0) samples.push({ ...timing, firstScreen, allDrawn });
  }
  return samples;
}

interface LiveSample {
  index: number;
  /** Milliseconds from the commit to the SSE message carrying the step. */
  message: number;
  /** To the DOM mutation that set data-last-step to the step's index. */
  committed: number;
  /** To the animation frame after that mutation, when the browser paints it. */
  frame: number;
  /** To the animation frame after the charts below the first screen drew the step. */
  lowerFrame: number;
}

async function measureLiveUpdates(prisma: PrismaClient, page: Page, runId: string, steps: PreparedStep[], context: StepWriteContext): Promise<LiveSample[]> {
  const samples: LiveSample[] = [];
  for (const step of steps) {
    await new Promise((resolve) => setTimeout(resolve, LIVE_GAP_MS));
    await writeStep(prisma, runId, step, context);
    const committedAt = Date.now();

    const index = String(step.record.index);
    let seen: { message: Stamp | undefined; committed: Stamp; frame: Stamp; lowerFrame: Stamp };
    try {
      const handle = await page.waitForFunction(
        (id) => {
          const record = (window as unknown as { __bench: PageRecord }).__bench;
          const frame = record.frames["data-last-step"][id];
          const lowerFrame = record.frames["data-lower-last-step"][id];
          if (frame === undefined || lowerFrame === undefined) return false;
          return { message: record.messages[id], committed: record.committed["data-last-step"][id], frame, lowerFrame };
        },
        index,
        { timeout: SHOW_TIMEOUT_MS, polling: 10 },
      );
      seen = (await handle.jsonValue()) as typeof seen;
    } catch (error) {
      throw new Error(`the run page did not show live step ${index} within ${SHOW_TIMEOUT_MS} ms of its commit: ${(error as Error).message}`, { cause: error });
    }
    samples.push({
      index: step.record.index,
      message: seen.message === undefined ? Number.NaN : seen.message.at - committedAt,
      committed: seen.committed.at - committedAt,
      frame: seen.frame.at - committedAt,
      lowerFrame: seen.lowerFrame.at - committedAt,
    });
  }
  return samples;
}

function stats(values: number[]): { min: number; median: number; max: number } {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return { min: Number.NaN, median: Number.NaN, max: Number.NaN };
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  return { min: sorted[0], median, max: sorted[sorted.length - 1] };
}

function formatStats({ min, median, max }: { min: number; median: number; max: number }): string {
  return `${median.toFixed(0)} ms (min ${min.toFixed(0)}, max ${max.toFixed(0)})`;
}

function verdict({ median, max }: { median: number; max: number }, target: number): string {
  if (max <= target) return "met";
  return median <= target ? "met by the median, not the max" : "missed";
}

function summaryRow(stage: string, values: number[]): Row {
  const { min, median, max } = stats(values);
  return { stage, samples: values.filter((v) => Number.isFinite(v)).length, "min (ms)": min.toFixed(0), "median (ms)": median.toFixed(0), "max (ms)": max.toFixed(0) };
}

async function saveScreenshot(page: Page, name: string): Promise<string> {
  const dir = path.join(root, "screenshots");
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `${name}.png`);
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Runs `next build`, unless HSWARM_BENCH_SKIP_BUILD=1 reuses the existing .next. */
function buildApp(): void {
  if (process.env.HSWARM_BENCH_SKIP_BUILD === "1") {
    if (!existsSync(path.join(root, ".next/BUILD_ID"))) throw new Error("HSWARM_BENCH_SKIP_BUILD=1 is set, but .next/BUILD_ID is missing; run once without it to build the app");
    return;
  }
  const started = performance.now();
  const result = spawnSync(process.execPath, [path.join(root, "node_modules/next/dist/bin/next"), "build"], {
    cwd: root,
    env: { ...process.env, NODE_ENV: "production", NEXT_TELEMETRY_DISABLED: "1" },
    encoding: "utf8",
  });
  if (result.status !== 0) throw new Error(`next build failed with code ${result.status}:\n${result.stdout}\n${result.stderr}`);
  console.log(`next build: ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

interface ServerHandle {
  baseUrl: string;
  stop(): Promise<void>;
}

async function startServer(databaseUrl: string): Promise<ServerHandle> {
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(process.execPath, [path.join(root, "node_modules/next/dist/bin/next"), "start", "-H", "127.0.0.1", "-p", String(port)], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: databaseUrl, NODE_ENV: "production", NEXT_TELEMETRY_DISABLED: "1", LOG_LEVEL: "warn" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      // Open SSE streams can hold `next start` up; it gets 10 s.
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    }
  };

  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`next start exited with code ${child.exitCode}:\n${output.slice(-3000)}`);
    try {
      const response = await fetch(`${baseUrl}/runs`);
      if (response.ok) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`next start did not respond on ${baseUrl} within 60 s:\n${output.slice(-3000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return { baseUrl, stop };
}

interface BrowserHandle {
  context: BrowserContext;
  close(): Promise<void>;
}

async function openBrowser(): Promise<BrowserHandle> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found; install Debian's chromium (apt-get install -y chromium)`);
  const profile = mkdtempSync(path.join(tmpdir(), "hswarm-bench-chromium-"));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1400, height: 900 } });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  uiBenchmark().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      process.exit(1);
    },
  );
}
