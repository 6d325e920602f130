import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { apiClient, CHROMIUM, openBrowser, QUICK_RUN, screenshot, seedPoolAndTask, waitForStatus, type Browser } from "./browser";

describe.skipIf(!existsSync(CHROMIUM))("compare and systems", () => {
  const baseUrl = inject("baseUrl");
  const api = apiClient(baseUrl);
  let browser: Browser;
  const runIds: string[] = [];

  beforeAll(async () => {
    browser = await openBrowser();
    const seeded = await seedPoolAndTask(api, "compare-e2e");
    for (const method of ["heterogeneous-swarms", "chain"] as const) {
      const run = await api.runs.launch.mutate({ ...seeded, config: { ...QUICK_RUN, method } });
      runIds.push(run.id);
    }
    for (const id of runIds) await waitForStatus(api, id, ["completed"]);
  });

  afterAll(async () => {
    await browser?.close();
  });

  it("compares the selected runs side by side", async () => {
    const { page } = browser;
    await page.goto(`${baseUrl}/compare`);
    for (const id of runIds) await page.getByLabel(`compare run ${id}`).check();
    const table = page.getByTestId("compare-table");
    await table.locator("tbody tr").nth(1).waitFor();

    await expect(table.locator("tbody tr").count()).resolves.toBe(2);
    await expect(table.textContent()).resolves.toContain("chain");
    await expect(table.locator("tbody tr").first().locator("td").nth(3).textContent()).resolves.toMatch(/^\d\.\d{3}$/);
    await page.locator("[data-testid=compare-curves] .recharts-line").first().waitFor({ state: "attached" });
    await expect(page.locator("[data-testid=compare-curves] .recharts-line").count()).resolves.toBe(2);
    await screenshot(page, "compare");
  });

  it("exports the compared runs as CSV", async () => {
    const { page } = browser;
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Export CSV" }).click()]);
    const csv = await readFile((await download.path()) as string, "utf8");
    const lines = csv.trimEnd().split("\r\n");

    expect(download.suggestedFilename()).toBe("hswarm-runs.csv");
    expect(lines[0]).toBe("run,task,pool,method,seed,status,best_dev,best_test,backend_calls,cache_hits,wall_seconds,c_gain,simulated");
    expect(lines).toHaveLength(3);
    expect(lines[1]).toContain(runIds[0]);
    expect(lines[1]).toMatch(/,true$/);
  });

  it("exports a run's best system as JSON from the systems page", async () => {
    const { page } = browser;
    await page.goto(`${baseUrl}/systems`);
    await page.getByLabel("completed run").selectOption(runIds[0]);
    await page.getByLabel("system name").fill("e2e best system");
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Export and download JSON" }).click()]);
    const definition = JSON.parse(await readFile((await download.path()) as string, "utf8"));

    expect(download.suggestedFilename()).toBe("e2e best system.json");
    expect(definition.format).toBe("hswarm-system");
    expect(definition.source.runId).toBe(runIds[0]);
    expect(JSON.stringify(definition)).not.toContain("apiKey");
    await page.getByTestId("systems-table").locator("tr", { hasText: "e2e best system" }).waitFor();
    await screenshot(page, "systems");
  });

  it("shows an exported system's DAG and weights", async () => {
    const { page } = browser;
    await page.getByTestId("systems-table").getByRole("link", { name: "e2e best system" }).click();
    await page.waitForURL(/\/systems\/[^/]+$/);
    await page.locator(".react-flow__node").first().waitFor();

    await expect(page.locator(".dag-node[data-role=end]").count()).resolves.toBe(1);
    await expect(page.getByTestId("coefficient-heatmap").locator("tbody tr").count()).resolves.toBe(6);
    await expect(page.getByTestId("simulated-badge").count()).resolves.toBe(1);
    await screenshot(page, "system-detail");
  });
});
