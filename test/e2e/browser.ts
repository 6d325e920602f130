import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createTRPCClient, httpBatchLink, type TRPCClient } from "@trpc/client";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import type { AppRouter } from "../../server/trpc/root";

// Browser and API clients for the e2e specs: Debian's Chromium driven by playwright-core, and a
// tRPC client that seeds data through the same HTTP API the pages use.

export const CHROMIUM = "/usr/bin/chromium";
export const SCREENSHOTS = path.resolve("screenshots");

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

export interface Browser {
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

export async function openBrowser(): Promise<Browser> {
  const profile = await mkdtemp(path.join(tmpdir(), "hswarm-e2e-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1400, height: 900 },
    acceptDownloads: true,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(20_000);
  return {
    context,
    page,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

export function apiClient(baseUrl: string): TRPCClient<AppRouter> {
  return createTRPCClient<AppRouter>({ links: [httpBatchLink({ url: `${baseUrl}/api/trpc` })] });
}

/** Saves a full-page screenshot as screenshots/NAME.png. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOTS, { recursive: true });
  // The sticky top bar would otherwise appear at the scroll position in a full-page capture.
  await page.evaluate(() => window.scrollTo(0, 0));
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Waits until `check` returns true, polling every 250 ms; fails with `what` after `timeoutMs`. */
export async function waitUntil(check: () => Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}.`);
}

/** Creates a simulated pool and the demo task through the API, under names ending in `suffix`. */
export async function seedPoolAndTask(api: TRPCClient<AppRouter>, suffix: string): Promise<{ poolId: string; taskId: string }> {
  const { readFile } = await import("node:fs/promises");
  const pool = await api.pools.createFromPreset.mutate({ preset: "complementary", name: `complementary ${suffix}` });
  const task = await api.tasks.import.mutate({ name: `arithmetic ${suffix}`, format: "json", text: await readFile("examples/demo-task.json", "utf8") });
  return { poolId: pool.id, taskId: task.id };
}

/** Settings of a run that completes in a few seconds on the e2e worker. */
export const QUICK_RUN = { graphs: 4, assignments: 4, maxIterations: 3, devLimit: 10, testLimit: 10 } as const;

/** Polls the run until its status is one of `statuses`. */
export async function waitForStatus(api: TRPCClient<AppRouter>, runId: string, statuses: string[], timeoutMs = 120_000): Promise<void> {
  await waitUntil(async () => statuses.includes((await api.runs.get.query({ id: runId })).status), `run ${runId} to be ${statuses.join(" or ")}`, timeoutMs);
}
