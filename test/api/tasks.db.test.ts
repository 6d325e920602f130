import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_TEMPLATES } from "../../server/core/prompts";
import { createApiHarness, type ApiHarness } from "./context";

const DATASETS_DIR = process.env.HSWARM_DATASETS ?? path.resolve(__dirname, "../../../shared/datasets");
const HAVE_DATASETS = existsSync(DATASETS_DIR);
if (!HAVE_DATASETS) {
  console.warn(`skipping dataset import tests: ${DATASETS_DIR} not found (set HSWARM_DATASETS to the folder of the paper's evaluation files)`);
}

/** Split sizes and metric of each evaluation file, from its README. */
const DATASETS = [
  { file: "gsm8k.json", dev: 200, test: 1000, metric: "exact_match" },
  { file: "nlgraph.json", dev: 200, test: 1000, metric: "exact_match" },
  { file: "mmlu_pro.json", dev: 70, test: 1000, metric: "multiple_choice" },
  { file: "mmlu.json", dev: 200, test: 1000, metric: "multiple_choice" },
  { file: "knowledge_crosswords.json", dev: 200, test: 1000, metric: "multiple_choice" },
  { file: "abkg.json", dev: 50, test: 120, metric: "multiple_choice" },
] as const;

let api: ApiHarness;

beforeAll(async () => {
  api = await createApiHarness();
});

afterAll(async () => {
  await api?.close();
});

async function rejectionOf(call: Promise<unknown>): Promise<TRPCError> {
  const error = await call.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(TRPCError);
  return error as TRPCError;
}

async function rowCounts() {
  return { tasks: await api.db.prisma.task.count(), items: await api.db.prisma.taskItem.count() };
}

const TINY_JSONL = [
  '{"split": "dev", "question": "What is 2 + 2?", "answer": "4", "domain": "math"}',
  '{"split": "dev", "question": "Capital of France?", "answer": "Paris", "domain": "geo"}',
  '{"split": "dev", "question": "What is 3 + 3?", "answer": 6, "domain": "math"}',
  '{"split": "test", "question": "What is 4 + 4?", "answer": "8", "domain": "math"}',
].join("\n");

describe.skipIf(!HAVE_DATASETS)("tasks.import of the paper's files", () => {
  it.each(DATASETS.map((dataset) => [dataset.file, dataset] as const))("imports %s", async (file, expected) => {
    const text = readFileSync(path.join(DATASETS_DIR, file), "utf8");
    const name = file.replace(/\.json$/, "");

    const imported = await api.caller.tasks.import({ name, format: "json", text });
    const task = await api.caller.tasks.get({ id: imported.id });

    expect(imported.metric).toBe(expected.metric);
    expect(task.splits.dev.size).toBe(expected.dev);
    expect(task.splits.test.size).toBe(expected.test);
    expect(task.splits.dev.domains.reduce((sum, domain) => sum + domain.count, 0)).toBe(expected.dev);
    expect(task.promptTemplates).toEqual(DEFAULT_TEMPLATES);
  });

  it("keeps the few-shot prefix of knowledge_crosswords", async () => {
    const task = (await api.caller.tasks.list()).find((candidate) => candidate.name === "knowledge_crosswords");
    const details = await api.caller.tasks.get({ id: task!.id });

    expect(details.iclPrompt?.length ?? 0).toBeGreaterThan(0);
  });
});

describe("tasks.import", () => {
  it("imports JSONL with the inferred metric", async () => {
    const imported = await api.caller.tasks.import({ name: "tiny", format: "jsonl", text: TINY_JSONL });

    expect(imported).toMatchObject({ metric: "exact_match", devCount: 3, testCount: 1 });
  });

  it("imports CSV with choice columns", async () => {
    const text = "split,question,answer,choice_A,choice_B,domain\ndev,Which is prime?,B,4,7,math\ntest,Which is even?,A,8,9,math\n";
    const imported = await api.caller.tasks.import({ name: "tiny csv", format: "csv", text });
    const page = await api.caller.tasks.items({ taskId: imported.id, split: "dev" });

    expect(imported.metric).toBe("multiple_choice");
    expect(page.items[0].choices).toEqual({ A: "4", B: "7" });
    expect((await api.caller.tasks.get({ id: imported.id })).itemsWithChoices).toBe(2);
  });

  it("takes an explicit metric", async () => {
    const imported = await api.caller.tasks.import({ name: "tiny abstain", format: "jsonl", text: TINY_JSONL, metric: "abstain" });

    expect(imported.metric).toBe("abstain");
  });

  const broken = [
    {
      label: "a JSON item without an answer",
      format: "json",
      text: JSON.stringify({ dev: [{ question: "q1", answer: "a" }, { question: "q2" }], test: [{ question: "q3", answer: "c" }] }),
      expected: ["dev[1].answer", "must be a string or a number, but is missing"],
    },
    {
      label: "a JSON syntax error",
      format: "json",
      text: '{\n  "dev": [\n    {"question": "q", "answer": "a",}\n  ],\n  "test": []\n}',
      expected: ["line 3", "invalid JSON"],
    },
    {
      label: "a JSONL line with an unknown split",
      format: "jsonl",
      text: `${TINY_JSONL}\n{"split": "train", "question": "q", "answer": "a"}`,
      expected: ["line 5, split", '"dev" or "test"'],
    },
    {
      label: "a CSV answer that is not a choice key",
      format: "csv",
      text: "split,question,answer,choice_A,choice_B\ndev,Which is prime?,B,4,7\ntest,Which is even?,Z,8,9\n",
      expected: ["line 3, answer", "choice keys A, B"],
    },
    {
      label: "a CSV row with too many fields",
      format: "csv",
      text: "split,question,answer\ndev,What is 2 + 2?,4\ntest,What is 1,000 + 1?,1001\n",
      expected: ["line 3", "must have 3 fields"],
    },
    {
      label: "multiple_choice on items without choices",
      format: "jsonl",
      text: TINY_JSONL,
      metric: "multiple_choice",
      expected: ["dev[0].choices", "multiple_choice metric needs choices"],
    },
  ] as const;

  it.each(broken.map((entry) => [entry.label, entry] as const))("rejects %s and writes nothing", async (_label, entry) => {
    const before = await rowCounts();

    const error = await rejectionOf(
      api.caller.tasks.import({
        name: `broken ${entry.label}`,
        format: entry.format,
        text: entry.text,
        ...("metric" in entry ? { metric: entry.metric } : {}),
      }),
    );

    expect(error.code).toBe("BAD_REQUEST");
    for (const part of entry.expected) expect(error.message).toContain(part);
    expect(await rowCounts()).toEqual(before);
  });

  it("rejects a taken name with CONFLICT and writes nothing", async () => {
    await api.caller.tasks.import({ name: "taken", format: "jsonl", text: TINY_JSONL });
    const before = await rowCounts();

    const error = await rejectionOf(api.caller.tasks.import({ name: "taken", format: "jsonl", text: TINY_JSONL }));

    expect(error.code).toBe("CONFLICT");
    expect(await rowCounts()).toEqual(before);
  });
});

describe("tasks", () => {
  let taskId: string;

  beforeAll(async () => {
    taskId = (await api.caller.tasks.import({ name: "browse", format: "jsonl", text: TINY_JSONL })).id;
  });

  it("counts items per domain in each split", async () => {
    const task = await api.caller.tasks.get({ id: taskId });

    expect(task.splits.dev.domains).toEqual([
      { domain: "geo", count: 1 },
      { domain: "math", count: 2 },
    ]);
    expect(task.splits.test).toEqual({ size: 1, domains: [{ domain: "math", count: 1 }] });
  });

  it("pages through a split's items", async () => {
    const page = await api.caller.tasks.items({ taskId, split: "dev", offset: 1, limit: 1 });

    expect(page.total).toBe(3);
    expect(page.items.map((item) => item.index)).toEqual([1]);
    expect(page.items[0].question).toBe("Capital of France?");
  });

  it("renders an item's prompts with unsaved templates", async () => {
    const templates = { firstStep: "Answer briefly.", laterStep: "Improve on these answers.", keepNewlines: true };
    const rendered = await api.caller.tasks.renderExample({ taskId, index: 0, templates, previousResponses: ["It is 4."] });

    expect(rendered.firstStep).toBe("Answer briefly.\n\nQuestion: What is 2 + 2?");
    expect(rendered.laterStep).toBe("Improve on these answers.\n\nPrevious response 1: It is 4.\n\nQuestion: What is 2 + 2?");
  });

  it("reports an item index outside the split", async () => {
    const error = await rejectionOf(api.caller.tasks.renderExample({ taskId, split: "test", index: 5 }));

    expect(error.code).toBe("NOT_FOUND");
    expect(error.message).toContain("test has 1 items");
  });

  it("updates the metric and templates", async () => {
    const templates = { firstStep: "First.", laterStep: "Later.", keepNewlines: false };
    await api.caller.tasks.update({ id: taskId, metric: "exact_match_reference", promptTemplates: templates });
    const task = await api.caller.tasks.get({ id: taskId });

    expect(task.metric).toBe("exact_match_reference");
    expect(task.promptTemplates).toEqual(templates);
  });

  it("rejects multiple_choice for items without choices", async () => {
    const error = await rejectionOf(api.caller.tasks.update({ id: taskId, metric: "multiple_choice" }));

    expect(error.code).toBe("BAD_REQUEST");
    expect(error.message).toContain("dev[0] has none");
  });

  it("rejects deleting a task that a run used", async () => {
    const pool = await api.caller.pools.createFromPreset({ preset: "homogeneous", name: "for browse" });
    await api.db.prisma.run.create({ data: { poolId: pool.id, taskId, method: "chain", config: {}, seed: 1, status: "failed" } });

    const error = await rejectionOf(api.caller.tasks.delete({ id: taskId }));

    expect(error.code).toBe("CONFLICT");
  });

  it("deletes a task with its items", async () => {
    const imported = await api.caller.tasks.import({ name: "short-lived", format: "jsonl", text: TINY_JSONL });
    await api.caller.tasks.delete({ id: imported.id });

    expect(await api.db.prisma.taskItem.count({ where: { taskId: imported.id } })).toBe(0);
  });
});
