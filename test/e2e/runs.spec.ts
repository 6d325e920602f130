import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { apiClient, CHROMIUM, openBrowser, screenshot, seedPoolAndTask, waitForStatus, waitUntil, type Browser } from "./browser";

describe.skipIf(!existsSync(CHROMIUM))("runs", () => {
  const baseUrl = inject("baseUrl");
  const api = apiClient(baseUrl);
  let browser: Browser;
  let seeded: { poolId: string; taskId: string };
  let runUrl = "";

  beforeAll(async () => {
    browser = await openBrowser();
    seeded = await seedPoolAndTask(api, "runs-e2e");
  });

  afterAll(async () => {
    await browser?.close();
  });

  it("shows the paper defaults with help and an estimate", async () => {
    const { page } = browser;
    await page.goto(`${baseUrl}/runs/new?poolId=${seeded.poolId}&taskId=${seeded.taskId}`);
    await page.getByTestId("estimate-calls").waitFor();

    await expect(page.locator("#config-graphs").inputValue()).resolves.toBe("10");
    await expect(page.locator("#config-inertia").inputValue()).resolves.toBe("0.4");
    await expect(page.locator("#config-patience").inputValue()).resolves.toBe("6");
    await expect(page.getByText("PSO weight of the previous velocity").count()).resolves.toBe(1);
    await expect(page.locator("#run-method option").count()).resolves.toBe(9);
    await expect(page.getByTestId("simulated-badge").count()).resolves.toBeGreaterThan(0);
  });

  it("updates the estimate when the configuration changes", async () => {
    const { page } = browser;
    const calls = page.getByTestId("estimate-calls");
    const before = await calls.textContent();

    await page.locator("#config-graphs").fill("4");
    await page.locator("#config-assignments").fill("4");
    await page.locator("#config-maxIterations").fill("3");
    await page.locator("#config-devLimit").fill("10");
    await page.locator("#config-testLimit").fill("10");
    await page.waitForFunction((old) => document.querySelector("[data-testid=estimate-calls]")?.textContent !== old, before);

    const after = Number((await calls.textContent())?.replace(/,/g, ""));
    expect(after).toBeLessThan(Number(before?.replace(/,/g, "")));
    await screenshot(page, "run-new");
  });

  it("rejects an invalid hyperparameter before launching", async () => {
    const { page } = browser;
    await page.locator("#config-graphs").fill("1");

    await expect(page.getByTestId("estimate").locator(".error").textContent()).resolves.toMatch(/^graphs: /);
    await expect(page.getByRole("button", { name: "Launch run" }).isDisabled()).resolves.toBe(true);
    await page.locator("#config-graphs").fill("4");
  });

  it("launches the run and follows it to completion", async () => {
    const { page } = browser;
    await page.getByRole("button", { name: "Launch run" }).click();
    await page.waitForURL(/\/runs\/[^/]+$/);
    runUrl = page.url();
    await page.getByTestId("progress").waitFor();

    await page.locator("h1 .badge", { hasText: "completed" }).waitFor({ timeout: 120_000 });
    await page.getByTestId("final-result").waitFor();
    await expect(page.locator(".progress-bar").getAttribute("aria-valuenow")).resolves.toBe("100");
  });

  it("draws every chart of a completed run", async () => {
    const { page } = browser;
    await page.locator("[data-testid=graph-utility] .recharts-line").first().waitFor({ state: "attached" });

    // Four graph particles plus the two bests.
    await expect(page.locator("[data-testid=graph-utility] .recharts-line").count()).resolves.toBe(6);
    await expect(page.locator("[data-testid=model-utility] .recharts-line").count()).resolves.toBe(3);
    await expect(page.locator("[data-testid=jfk] .recharts-line").count()).resolves.toBe(6);
    await expect(page.getByTestId("coefficient-heatmap").locator("tbody tr").count()).resolves.toBe(6);
    await expect(page.locator("[data-testid=roles-per-model] .recharts-bar-rectangle").count()).resolves.toBeGreaterThan(0);
    await expect(page.locator("[data-testid=roles-over-steps] .recharts-bar-rectangle").count()).resolves.toBeGreaterThan(0);
    await expect(page.locator("[data-testid=cgain] .recharts-bar-rectangle").count()).resolves.toBeGreaterThan(0);
    await expect(page.getByTestId("events").textContent()).resolves.toContain("completed: best system");
  });

  it("draws the best DAG with model names and role badges", async () => {
    const { page } = browser;
    const nodes = page.locator("[data-testid=best-dag] .react-flow__node");
    await nodes.first().waitFor();

    const count = await nodes.count();
    expect(count).toBeGreaterThan(0);
    await expect(page.locator("[data-testid=best-dag] .dag-node[data-role=end]").count()).resolves.toBe(1);
    await expect(page.locator("[data-testid=best-dag] .react-flow__edge").count()).resolves.toBe(count - 1);
    await expect(page.locator("[data-testid=best-dag] .dag-node-model").first().textContent()).resolves.toMatch(/expert|verifier|weak/);
    await screenshot(page, "run-completed");
  });

  it("replays the best DAG step by step", async () => {
    const { page } = browser;
    const slider = page.locator("#replay-step");
    await slider.fill("0");

    await expect(page.getByTestId("replay-label").textContent()).resolves.toMatch(/^init \(1\//);
    await expect(page.getByRole("button", { name: "Follow latest" }).count()).resolves.toBe(1);
  });

  it("shows the history of a run opened mid-run, then follows it", async () => {
    const { page } = browser;
    const run = await api.runs.launch.mutate({
      poolId: seeded.poolId,
      taskId: seeded.taskId,
      config: { graphs: 10, assignments: 10, maxIterations: 20, patience: 20, devLimit: 40, seed: 2 },
    });
    await waitUntil(async () => (await api.runs.get.query({ id: run.id })).stepsDone >= 3, "three persisted steps", 120_000);

    await page.goto(`${baseUrl}/runs/${run.id}`);
    const label = page.getByTestId("replay-label");
    await label.waitFor();
    const stepsAt = async () => Number(/\/(\d+)\)/.exec((await label.textContent()) ?? "")?.[1] ?? 0);
    const first = await stepsAt();
    expect(first).toBeGreaterThanOrEqual(3);

    await waitUntil(async () => (await stepsAt()) > first, "a new step to arrive over the subscription", 120_000);
    await expect(page.locator("h1 .badge", { hasText: "running" }).count()).resolves.toBe(1);
    await screenshot(page, "run-live");

    await page.getByRole("button", { name: "Pause" }).click();
    await page.locator("h1 .badge", { hasText: "paused" }).waitFor({ timeout: 60_000 });
    await waitForStatus(api, run.id, ["paused"]);
    await screenshot(page, "run-paused");

    await page.getByRole("button", { name: "Resume" }).click();
    await page.locator("h1 .badge", { hasText: /queued|running/ }).waitFor({ timeout: 60_000 });

    page.once("dialog", (dialog) => void dialog.accept());
    await page.getByRole("button", { name: "Cancel" }).click();
    await page.locator("h1 .badge", { hasText: "cancelled" }).waitFor({ timeout: 60_000 });
    await waitForStatus(api, run.id, ["cancelled"]);
  });

  it("lists both runs", async () => {
    const { page } = browser;
    await page.goto(`${baseUrl}/runs`);
    const table = page.getByTestId("runs-table");
    await table.waitFor();

    await expect(table.locator("tbody tr").count()).resolves.toBeGreaterThanOrEqual(2);
    await expect(table.locator(".badge", { hasText: "cancelled" }).count()).resolves.toBeGreaterThanOrEqual(1);
    await expect(table.getByTestId("simulated-badge").count()).resolves.toBeGreaterThanOrEqual(2);
    expect(runUrl).toMatch(/\/runs\//);
    await screenshot(page, "runs");
  });
});
