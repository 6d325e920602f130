import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { CHROMIUM, openBrowser, screenshot, type Browser } from "./browser";

describe.skipIf(!existsSync(CHROMIUM))("pools page", () => {
  const baseUrl = inject("baseUrl");
  let browser: Browser;

  beforeAll(async () => {
    browser = await openBrowser();
  });

  afterAll(async () => {
    await browser?.close();
  });

  it("shows the navigation on every page", async () => {
    const { page } = browser;
    await page.goto(`${baseUrl}/pools`);

    for (const label of ["Pools", "Tasks", "Runs", "Compare", "Systems"]) {
      await expect(page.getByRole("navigation", { name: "main" }).getByRole("link", { name: label }).count()).resolves.toBe(1);
    }
    await expect(page.locator("nav a.active").textContent()).resolves.toBe("Pools");
  });

  it("creates a pool from a simulated preset", async () => {
    const { page } = browser;
    await page.goto(`${baseUrl}/pools`);
    await page.getByLabel("preset").selectOption("complementary");
    await page.getByLabel("pool name").first().fill("e2e preset pool");
    await page.getByRole("button", { name: "Create pool" }).first().click();

    await page.waitForURL(/\/pools\/[^/]+$/);
    await page.getByTestId("models-table").waitFor();
    await expect(page.locator("h1").textContent()).resolves.toContain("e2e preset pool");
    await expect(page.locator("[data-testid^=model-]").count()).resolves.toBe(6);
    await expect(page.getByTestId("simulated-badge").count()).resolves.toBeGreaterThan(1);
  });

  it("tests a simulated model's connection and shows the reply", async () => {
    const { page } = browser;
    await page.getByTestId("model-0").getByRole("button", { name: "Test connection" }).click();
    const result = page.getByTestId("connection-result-0");
    await result.waitFor();

    await expect(result.textContent()).resolves.toMatch(/Reply: .*answer/i);
    await screenshot(page, "pool-detail");
  });

  it("adds an OpenAI-compatible model whose API key shows only as set", async () => {
    const { page } = browser;
    await page.locator("#add-name").fill("hosted");
    await page.locator("#add-backend").selectOption("openai");
    await page.locator("#add-model-name").fill("gpt-test");
    await page.locator("#add-endpoint").fill("http://127.0.0.1:9/v1");
    await page.locator("#add-api-key").fill("sk-e2e-secret");
    await page.getByRole("button", { name: "Add model" }).click();

    const row = page.getByTestId("model-6");
    await row.waitFor();
    await expect(row.textContent()).resolves.toContain("gpt-test");
    await expect(row.locator("td").nth(6).textContent()).resolves.toBe("set");
    await expect(page.content()).resolves.not.toContain("sk-e2e-secret");
  });

  it("names the missing fields of a LoRA model", async () => {
    const { page } = browser;
    await page.locator("#add-name").fill("adapter");
    await page.locator("#add-backend").selectOption("vllm_lora");
    await page.locator("#add-model-name").fill("base-7b");
    await page.locator("#add-endpoint").fill("http://127.0.0.1:9/v1");
    await page.getByRole("button", { name: "Add model" }).click();

    const error = page.locator("p.error").last();
    await expect(error.textContent()).resolves.toContain("base model: must name the model the adapter belongs to");
    await expect(error.textContent()).resolves.toContain("adapter path: must point to the model's adapter");
  });

  it("edits a model's generation settings", async () => {
    const { page } = browser;
    await page.getByTestId("model-6").getByRole("button", { name: "Edit" }).click();
    const form = page.locator("form").filter({ has: page.getByRole("button", { name: "Save model" }) });
    await form.getByLabel("temperature").fill("0.7");
    await form.getByRole("button", { name: "Save model" }).click();

    await page.getByRole("button", { name: "Save model" }).waitFor({ state: "detached" });
    await expect(page.getByTestId("model-6").textContent()).resolves.toContain("T=0.7");
  });

  it("shows why a connection test failed", async () => {
    const { page } = browser;
    await page.getByTestId("model-6").getByRole("button", { name: "Test connection" }).click();
    const result = page.getByTestId("connection-result-6");
    await result.waitFor();

    await expect(result.getAttribute("class")).resolves.toBe("error");
    await expect(result.textContent()).resolves.toContain("connection failed");
    await screenshot(page, "pool-detail-edited");
  });

  it("lists the pool with its backends", async () => {
    const { page } = browser;
    await page.goto(`${baseUrl}/pools`);
    const row = page.getByTestId("pools-table").locator("tr", { hasText: "e2e preset pool" });
    await row.waitFor();

    await expect(row.textContent()).resolves.toContain("openai");
    await expect(row.getByTestId("simulated-badge").count()).resolves.toBe(1);
    await screenshot(page, "pools");
  });
});
