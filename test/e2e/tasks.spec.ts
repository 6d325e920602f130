import { existsSync } from "node:fs";
import { copyFile, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { CHROMIUM, openBrowser, screenshot, type Browser } from "./browser";

describe.skipIf(!existsSync(CHROMIUM))("tasks page", () => {
  const baseUrl = inject("baseUrl");
  let browser: Browser;
  let files: string;

  beforeAll(async () => {
    browser = await openBrowser();
    files = await mkdtemp(path.join(tmpdir(), "hswarm-e2e-tasks-"));
    await copyFile("examples/demo-task.json", path.join(files, "e2e-arithmetic.json"));
    await writeFile(path.join(files, "broken.jsonl"), '{"question": "a", "answer": "1", "split": "dev"}\n{"question": oops}\n');
    await writeFile(path.join(files, "empty-question.json"), JSON.stringify({ dev: [{ question: "q", answer: "1" }, { question: "", answer: "2" }], test: [{ question: "x", answer: "1" }] }));
  });

  afterAll(async () => {
    await browser?.close();
  });

  it("names the line of a malformed JSONL file", async () => {
    const { page } = browser;
    await page.goto(`${baseUrl}/tasks`);
    await page.getByLabel("dataset file").setInputFiles(path.join(files, "broken.jsonl"));
    await page.getByRole("button", { name: "Upload" }).click();
    const error = page.getByTestId("upload-error");
    await error.waitFor();

    await expect(error.textContent()).resolves.toContain("line 2");
    await expect(page.url()).toBe(`${baseUrl}/tasks`);
    await screenshot(page, "tasks-upload-error");
  });

  it("names the item of an invalid JSON file", async () => {
    const { page } = browser;
    await page.getByLabel("task name").fill("");
    await page.getByLabel("dataset file").setInputFiles(path.join(files, "empty-question.json"));
    await page.getByRole("button", { name: "Upload" }).click();
    const error = page.getByTestId("upload-error");
    await error.waitFor();

    await expect(error.textContent()).resolves.toContain("dev[1].question");
  });

  it("uploads a dataset and opens its detail page", async () => {
    const { page } = browser;
    await page.getByLabel("task name").fill("");
    await page.getByLabel("dataset file").setInputFiles(path.join(files, "e2e-arithmetic.json"));
    await expect(page.getByLabel("task name").inputValue()).resolves.toBe("e2e-arithmetic");
    await page.getByRole("button", { name: "Upload" }).click();

    await page.waitForURL(/\/tasks\/[^/]+$/);
    const sizes = page.getByTestId("split-sizes");
    await sizes.waitFor();
    await expect(sizes.textContent()).resolves.toContain("40 items");
    await expect(sizes.textContent()).resolves.toContain("80 items");
  });

  it("draws the domain histogram and previews items", async () => {
    const { page } = browser;
    await page.locator(".recharts-bar-rectangle").first().waitFor();
    await page.getByTestId("items-table").locator("tbody tr").nth(9).waitFor();

    await expect(page.locator(".recharts-cartesian-axis-tick-value", { hasText: "arithmetic (" }).count()).resolves.toBe(1);
    await expect(page.getByTestId("items-table").locator("tbody tr").count()).resolves.toBe(10);
    await page.getByRole("button", { name: "Next" }).click();
    await page.getByTestId("items-table").locator("tbody tr td:first-child", { hasText: /^10$/ }).waitFor();
    await expect(page.getByText("11–20 of 40").count()).resolves.toBe(1);
  });

  it("renders the prompt example live from the edited template", async () => {
    const { page } = browser;
    const example = page.getByTestId("rendered-example");
    await example.waitFor();
    await expect(example.textContent()).resolves.toContain("Please answer the following question.");

    await page.getByLabel("first step (a node without predecessors)").fill("Solve this carefully.");
    await page.waitForFunction(() => document.querySelector("[data-testid=rendered-example]")?.textContent?.includes("Solve this carefully."));
    await expect(page.getByText("unsaved changes").count()).resolves.toBe(1);

    await page.getByRole("button", { name: "Save templates" }).click();
    await page.getByText("unsaved changes").waitFor({ state: "detached" });
    await screenshot(page, "task-detail");
  });

  it("keeps the saved template and metric after a reload", async () => {
    const { page } = browser;
    await page.getByLabel("metric").selectOption("exact_match_reference");
    await page.waitForLoadState("networkidle");
    await page.reload();
    await page.getByTestId("split-sizes").waitFor();

    await expect(page.getByLabel("metric").inputValue()).resolves.toBe("exact_match_reference");
    await expect(page.getByLabel("first step (a node without predecessors)").inputValue()).resolves.toBe("Solve this carefully.");
  });

  it("lists the task with its split sizes", async () => {
    const { page } = browser;
    await page.goto(`${baseUrl}/tasks`);
    const row = page.getByTestId("tasks-table").locator("tr", { hasText: "e2e-arithmetic" });
    await row.waitFor();

    await expect(row.locator("td").nth(2).textContent()).resolves.toBe("40");
    await expect(row.locator("td").nth(3).textContent()).resolves.toBe("80");
    await screenshot(page, "tasks");
  });
});
