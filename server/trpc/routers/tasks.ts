import { z } from "zod";
import { Prisma, type TaskItem } from "../../../generated/prisma/client";
import { DatasetError, inferMetric, parseDataset } from "../../core/dataset";
import { DEFAULT_TEMPLATES, renderPrompt } from "../../core/prompts";
import type { Dataset, Item, PromptTemplates } from "../../core/types";
import type { PrismaClient } from "../../db/client";
import { OperationalError } from "../../errors";
import { importTask } from "../../runs/loader";
import { procedure, router } from "../init";
import { idSchema, METRICS, nameSchema } from "../schemas";
import { isUniqueViolation, rejectWhileRunsExist, rejectWhileRunsUnfinished } from "../usage";
import { isoDate } from "../views";

/** Largest dataset text accepted, in characters. The largest evaluation file published with Heterogeneous Swarms (nlgraph.json) has about 1.8 million. */
const MAX_DATASET_CHARS = 50_000_000;

const splitSchema = z.enum(["dev", "test"]);

export const promptTemplatesSchema = z
  .object({
    firstStep: z.string().trim().min(1, { error: "must not be empty" }).max(20_000),
    laterStep: z.string().trim().min(1, { error: "must not be empty" }).max(20_000),
    keepNewlines: z.boolean(),
  })
  .strict();

export const tasksRouter = router({
  list: procedure.query(async ({ ctx }) => {
    const tasks = await ctx.prisma.task.findMany({ orderBy: { createdAt: "desc" }, include: { _count: { select: { runs: true } } } });
    const sizes = await splitSizes(ctx.prisma, tasks.map((task) => task.id));
    return tasks.map((task) => ({
      id: task.id,
      name: task.name,
      metric: task.metric,
      createdAt: isoDate(task.createdAt),
      devCount: sizes.get(`${task.id}:dev`) ?? 0,
      testCount: sizes.get(`${task.id}:test`) ?? 0,
      runCount: task._count.runs,
    }));
  }),

  /** A task with its split sizes and the number of items per domain in each split. */
  get: procedure.input(z.object({ id: idSchema })).query(async ({ ctx, input }) => {
    const task = await findTask(ctx.prisma, input.id);
    const groups = await ctx.prisma.taskItem.groupBy({
      by: ["split", "domain"],
      where: { taskId: task.id },
      _count: { _all: true },
      orderBy: [{ split: "asc" }, { domain: "asc" }],
    });
    const withChoices = await ctx.prisma.taskItem.count({ where: { taskId: task.id, choices: { not: Prisma.DbNull } } });
    const runCount = await ctx.prisma.run.count({ where: { taskId: task.id } });

    const split = (name: "dev" | "test") => {
      const rows = groups.filter((group) => group.split === name);
      return {
        size: rows.reduce((sum, row) => sum + row._count._all, 0),
        domains: rows.map((row) => ({ domain: row.domain, count: row._count._all })),
      };
    };
    return {
      id: task.id,
      name: task.name,
      metric: task.metric,
      createdAt: isoDate(task.createdAt),
      promptTemplates: task.promptTemplates as unknown as PromptTemplates,
      iclPrompt: task.iclPrompt,
      itemsWithChoices: withChoices,
      runCount,
      splits: { dev: split("dev"), test: split("test") },
    };
  }),

  /** One page of a split's items, in index order. */
  items: procedure
    .input(
      z.object({
        taskId: idSchema,
        split: splitSchema,
        offset: z.number().int().min(0).default(0),
        limit: z.number().int().min(1).max(200).default(20),
      }),
    )
    .query(async ({ ctx, input }) => {
      await findTask(ctx.prisma, input.taskId);
      const where = { taskId: input.taskId, split: input.split };
      const [total, rows] = await Promise.all([
        ctx.prisma.taskItem.count({ where }),
        ctx.prisma.taskItem.findMany({ where, orderBy: { index: "asc" }, skip: input.offset, take: input.limit }),
      ]);
      return { total, offset: input.offset, items: rows.map(toItemView) };
    }),

  /**
   * Parses a dataset file's text and stores it as a task. Nothing is written when the text is
   * invalid: the error names the item or line and the field at fault.
   */
  import: procedure
    .input(
      z.object({
        name: nameSchema,
        format: z.enum(["json", "jsonl", "csv"]),
        text: z.string().min(1, { error: "must not be empty: paste or upload the dataset file" }).max(MAX_DATASET_CHARS),
        metric: z.enum(METRICS).optional(),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      const fileName = `${input.name}.${input.format}`;
      const dataset = parseDataset(input.text, input.format, fileName);
      const metric = input.metric ?? inferMetric(dataset);
      if (metric === "multiple_choice") assertEveryItemHasChoices(dataset, fileName);

      const existing = await ctx.prisma.task.findUnique({ where: { name: input.name }, select: { id: true } });
      if (existing) throw duplicateName(input.name);

      let task: { id: string };
      try {
        task = await importTask(ctx.prisma, dataset, input.name, metric);
      } catch (error) {
        if (isUniqueViolation(error)) throw duplicateName(input.name);
        throw error;
      }
      return { id: task.id, name: input.name, metric, devCount: dataset.dev.length, testCount: dataset.test.length };
    }),

  /** Changes the metric, prompt templates, few-shot prefix or name. */
  update: procedure
    .input(
      z
        .object({
          id: idSchema,
          name: nameSchema.optional(),
          metric: z.enum(METRICS).optional(),
          promptTemplates: promptTemplatesSchema.optional(),
          iclPrompt: z.string().max(200_000).nullable().optional(),
        })
        .strict(),
    )
    .mutation(async ({ ctx, input }) => {
      const task = await findTask(ctx.prisma, input.id);
      const changesBehaviour = input.metric !== undefined || input.promptTemplates !== undefined || input.iclPrompt !== undefined;
      if (changesBehaviour) await rejectWhileRunsUnfinished(ctx.prisma, { taskId: task.id }, `change the metric or prompts of task "${task.name}"`);

      if (input.metric === "multiple_choice") {
        const withoutChoices = await ctx.prisma.taskItem.findFirst({
          where: { taskId: task.id, choices: { equals: Prisma.DbNull } },
          orderBy: [{ split: "asc" }, { index: "asc" }],
        });
        if (withoutChoices) {
          throw new OperationalError(
            "BAD_REQUEST",
            `metric: multiple_choice needs choices on every item, but ${withoutChoices.split}[${withoutChoices.index}] has none.`,
          );
        }
      }

      try {
        await ctx.prisma.task.update({
          where: { id: task.id },
          data: {
            ...(input.name === undefined ? {} : { name: input.name }),
            ...(input.metric === undefined ? {} : { metric: input.metric }),
            ...(input.promptTemplates === undefined ? {} : { promptTemplates: input.promptTemplates }),
            ...(input.iclPrompt === undefined ? {} : { iclPrompt: input.iclPrompt === "" ? null : input.iclPrompt }),
          },
        });
      } catch (error) {
        if (input.name !== undefined && isUniqueViolation(error)) throw duplicateName(input.name);
        throw error;
      }
      const updated = await findTask(ctx.prisma, task.id);
      return {
        id: updated.id,
        name: updated.name,
        metric: updated.metric,
        promptTemplates: updated.promptTemplates as unknown as PromptTemplates,
        iclPrompt: updated.iclPrompt,
      };
    }),

  /**
   * Renders the prompts of item `index` for a live preview: the first-step prompt of a node
   * without predecessors, and the later-step prompt of a node that reads `previousResponses`.
   * Unsaved `templates` and `iclPrompt` override the task's.
   */
  renderExample: procedure
    .input(
      z.object({
        taskId: idSchema,
        split: splitSchema.default("dev"),
        index: z.number().int().min(0),
        templates: promptTemplatesSchema.optional(),
        iclPrompt: z.string().max(200_000).nullable().optional(),
        /** Position of the node, which selects the context chunk of a long-context item. */
        position: z.number().int().min(0).default(0),
        previousResponses: z.array(z.string().max(20_000)).min(1).max(20).optional(),
      }),
    )
    .query(async ({ ctx, input }) => {
      const task = await findTask(ctx.prisma, input.taskId);
      const row = await ctx.prisma.taskItem.findUnique({
        where: { taskId_split_index: { taskId: task.id, split: input.split, index: input.index } },
      });
      if (!row) {
        const size = await ctx.prisma.taskItem.count({ where: { taskId: task.id, split: input.split } });
        throw new OperationalError("NOT_FOUND", `index: ${input.split} has ${size} items (0..${size - 1}), but got ${input.index}.`);
      }

      const templates = input.templates ?? (task.promptTemplates as unknown as PromptTemplates) ?? DEFAULT_TEMPLATES;
      const iclPrompt = (input.iclPrompt === undefined ? task.iclPrompt : input.iclPrompt) ?? undefined;
      const previous = input.previousResponses ?? ["(output of the first model)", "(output of the second model)"];
      const item = toCoreItem(row);
      return {
        firstStep: renderPrompt(templates, item, input.position, [], iclPrompt),
        laterStep: renderPrompt(templates, item, input.position, previous, iclPrompt),
      };
    }),

  delete: procedure.input(z.object({ id: idSchema })).mutation(async ({ ctx, input }) => {
    const task = await findTask(ctx.prisma, input.id);
    await rejectWhileRunsExist(ctx.prisma, { taskId: task.id }, `delete task "${task.name}"`, "Tasks that runs used are kept with their runs.");
    await ctx.prisma.task.delete({ where: { id: task.id } });
    return { id: task.id };
  }),
});

async function findTask(prisma: PrismaClient, id: string) {
  const task = await prisma.task.findUnique({ where: { id } });
  if (!task) throw new OperationalError("NOT_FOUND", `Task ${id} not found.`);
  return task;
}

async function splitSizes(prisma: PrismaClient, taskIds: string[]): Promise<Map<string, number>> {
  if (taskIds.length === 0) return new Map();
  const groups = await prisma.taskItem.groupBy({ by: ["taskId", "split"], where: { taskId: { in: taskIds } }, _count: { _all: true } });
  return new Map(groups.map((group) => [`${group.taskId}:${group.split}`, group._count._all]));
}

function toItemView(row: TaskItem) {
  return {
    index: row.index,
    split: row.split,
    question: row.question,
    answer: row.answer,
    choices: row.choices as Record<string, string> | null,
    domain: row.domain,
    externalId: row.externalId,
    contextChunks: row.contextChunks as string[] | null,
  };
}

function toCoreItem(row: TaskItem): Item {
  const item: Item = { question: row.question, answer: row.answer };
  if (row.choices !== null) item.choices = row.choices as Record<string, string>;
  if (row.domain !== null) item.domain = row.domain;
  if (row.externalId !== null) item.id = row.externalId;
  if (row.contextChunks !== null) item.context_chunks = row.contextChunks as string[];
  return item;
}

/** The multiple-choice metric scores choice keys, so every item must offer choices. */
function assertEveryItemHasChoices(dataset: Dataset, fileName: string): void {
  for (const split of ["dev", "test"] as const) {
    const index = dataset[split].findIndex((item) => item.choices === undefined);
    if (index >= 0) {
      throw new DatasetError(fileName, [
        { location: `${split}[${index}].choices`, message: "is missing, but the multiple_choice metric needs choices on every item" },
      ]);
    }
  }
}

function duplicateName(name: string): OperationalError {
  return new OperationalError("CONFLICT", `A task named "${name}" already exists. Choose another name.`);
}
