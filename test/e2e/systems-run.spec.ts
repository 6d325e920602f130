import { existsSync } from "node:fs";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { apiClient, CHROMIUM, openBrowser, QUICK_RUN, screenshot, seedPoolAndTask, waitForStatus, type Browser } from "./browser";

// On this question the exported demo system mixes both simulated replies, so the screenshot shows the collaboration.
const QUESTION = "A bookshelf has 9 shelves with 15 books on each. How many books are there?";

describe.skipIf(!existsSync(CHROMIUM))("running a system", () => {
  const baseUrl = inject("baseUrl");
  const api = apiClient(baseUrl);
  let browser: Browser;
  let systemId: string;

  beforeAll(async () => {
    browser = await openBrowser();
    const seeded = await seedPoolAndTask(api, "systems-run-e2e");
    const run = await api.runs.launch.mutate({ ...seeded, config: QUICK_RUN });
    await waitForStatus(api, run.id, ["completed"]);
    systemId = (await api.systems.export.mutate({ runId: run.id, name: "e2e served system" })).id;
  });

  afterAll(async () => {
    await browser?.close();
  });

  it("shows node traces and the answer", async () => {
    const { page } = browser;
    const expected = await api.systems.run.mutate({ id: systemId, question: QUESTION });

    await page.goto(`${baseUrl}/systems/${systemId}`);
    await page.getByLabel("question").fill(QUESTION);
    await page.getByRole("button", { name: "Run", exact: true }).click();
    const answer = page.getByTestId("system-run-answer");
    await answer.waitFor();
    const nodes = page.getByTestId("system-run-nodes").locator(":scope > li");

    await expect(nodes.count()).resolves.toBe(expected.nodes.length);
    await expect(nodes.evaluateAll((items) => items.map((item) => Number(item.getAttribute("data-position"))))).resolves.toEqual(
      expected.nodes.map((node) => node.position),
    );
    await expect(nodes.first().getByTestId("node-prompt").textContent()).resolves.toContain(QUESTION);
    await expect(nodes.last().getByTestId("node-output").textContent()).resolves.toBe(expected.answer);
    await expect(answer.textContent()).resolves.toBe(expected.answer);
    await expect(page.getByTestId("system-run").getByTestId("simulated-badge").count()).resolves.toBe(1);
    await screenshot(page, "system-run");
  });

  it("keeps Run disabled for an empty question", async () => {
    const { page } = browser;
    await page.getByLabel("question").fill("   ");

    await expect(page.getByRole("button", { name: "Run", exact: true }).isDisabled()).resolves.toBe(true);
  });

  it("serves the system to the openai client", async () => {
    const client = new OpenAI({ baseURL: `${baseUrl}/api/v1`, apiKey: "unused", maxRetries: 0 });
    const expected = await api.systems.run.mutate({ id: systemId, question: QUESTION });

    const models = await client.models.list();
    const completion = await client.chat.completions.create({ model: systemId, messages: [{ role: "user", content: QUESTION }] });

    expect(models.data.map((model) => model.id)).toContain(systemId);
    expect(completion.choices[0].message.content).toBe(expected.answer);
    expect(completion.model).toBe(systemId);
  });

  it("returns 404 to the openai client for an unknown model", async () => {
    const client = new OpenAI({ baseURL: `${baseUrl}/api/v1`, apiKey: "unused", maxRetries: 0 });

    const error = await client.chat.completions.create({ model: "no-such-system", messages: [{ role: "user", content: QUESTION }] }).then(
      () => null,
      (caught: unknown) => caught,
    );

    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
  });
});
