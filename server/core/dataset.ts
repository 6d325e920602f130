import { z } from "zod";
import type { Dataset, Item, MetricName, SplitName } from "./types";
import { CsvSyntaxError, parseCsv, type CsvRecord } from "./csv";
import { describeJsonSyntaxError } from "./json-syntax";

// Dataset import: parses JSON in the format of the evaluation files published with
// Heterogeneous Swarms (Feng et al. 2025, arXiv 2502.04510), JSONL and CSV from text, and
// validates every item. Errors name the file, the item or line, and the field at fault.

export type DatasetFormat = "json" | "jsonl" | "csv";

export interface DatasetIssue {
  /** Position of the problem, e.g. "dev[12].answer", "line 7, split" or "line 3, column 18". */
  location: string;
  /** Expectation and the value found, e.g. `must be a string, but got 42`. */
  message: string;
}

/** Errors beyond this count are counted in the message but not listed. */
const MAX_REPORTED_ISSUES = 5;

/** A dataset file that cannot be imported; nothing of the file is returned. */
export class DatasetError extends Error {
  override readonly name = "DatasetError";
  /** File name (or path) that the issues refer to. */
  readonly file: string;
  /** Location of the first issue; empty when the issue concerns the whole file. */
  readonly location: string;
  /** The first issues found, at most MAX_REPORTED_ISSUES of them. */
  readonly issues: DatasetIssue[];
  /** Number of issues found, including those not listed in `issues`. */
  readonly issueCount: number;

  constructor(file: string, issues: DatasetIssue[], issueCount = issues.length) {
    const listed = issues.slice(0, MAX_REPORTED_ISSUES);
    const lines = listed.map((issue) =>
      issue.location === "" ? `${file}: ${issue.message}` : `${file}: ${issue.location}: ${issue.message}`,
    );
    if (issueCount > listed.length) {
      const unlisted = issueCount - listed.length;
      lines.push(`(${unlisted} more ${unlisted === 1 ? "error" : "errors"} not listed)`);
    }
    super(lines.join("\n"));
    this.file = file;
    this.location = listed[0]?.location ?? "";
    this.issues = listed;
    this.issueCount = issueCount;
  }
}

/** Collects issues in file order, keeping the first MAX_REPORTED_ISSUES and counting the rest. */
class IssueCollector {
  readonly issues: DatasetIssue[] = [];
  count = 0;

  add(location: string, message: string): void {
    this.count++;
    if (this.issues.length < MAX_REPORTED_ISSUES) this.issues.push({ location, message });
  }

  throwIfAny(file: string): void {
    if (this.count > 0) throw new DatasetError(file, this.issues, this.count);
  }
}

function throwDatasetError(file: string, location: string, message: string): never {
  throw new DatasetError(file, [{ location, message }]);
}

/**
 * Parses and validates a dataset. `name` is the file name used in error messages, and the
 * dataset name unless a paper-format JSON file carries its own `dataset` field.
 * Throws a DatasetError listing the first problems found.
 */
export function parseDataset(text: string, format: DatasetFormat, name: string): Dataset {
  const source = text.startsWith("\uFEFF") ? text.slice(1) : text;
  switch (format) {
    case "json":
      return parseJsonDocument(source, name);
    case "jsonl":
      return parseJsonLines(source, name);
    case "csv":
      return parseCsvDataset(source, name);
    default:
      throwDatasetError(name, "", `format must be "json", "jsonl" or "csv", but got ${JSON.stringify(format)}`);
  }
}

/**
 * Returns "multiple_choice" when every item has choices and "exact_match" when none has.
 * Throws a DatasetError naming the first item that breaks the pattern of the first one.
 */
export function inferMetric(dataset: Dataset): MetricName {
  const items = [
    ...dataset.dev.map((item, index) => ({ item, where: itemKey(item, "dev", index) })),
    ...dataset.test.map((item, index) => ({ item, where: itemKey(item, "test", index) })),
  ];
  const first = items[0];
  if (first === undefined) {
    throwDatasetError(dataset.name, "", "has no items, so no metric can be inferred");
  }

  const firstHasChoices = first.item.choices !== undefined;
  const odd = items.find(({ item }) => (item.choices !== undefined) !== firstHasChoices);
  if (odd !== undefined) {
    const oddKind = firstHasChoices ? "has no choices" : "has choices";
    const firstKind = firstHasChoices ? "has choices" : "has none";
    throwDatasetError(
      dataset.name,
      odd.where,
      `${oddKind}, but ${first.where} ${firstKind}. ` +
        "Every item must be multiple-choice or every item free-answer, so split the file in two.",
    );
  }
  return firstHasChoices ? "multiple_choice" : "exact_match";
}

/**
 * Returns a key for an item that is unique within its dataset and stable across imports of
 * the same file. Item ids are not used because they repeat: every gsm8k dev item in the
 * Heterogeneous Swarms evaluation files has id 0.
 */
export function itemKey(_item: Item, split: SplitName, index: number): string {
  return `${split}[${index}]`;
}

// ---------------------------------------------------------------------------------------------
// Item schema

/** Describes a value for the "but got …" half of a message. */
function describeValue(value: unknown): string {
  if (value === undefined) return "is missing";
  if (value === null) return "got null";
  if (typeof value === "string") {
    const preview = value.length > 60 ? `${value.slice(0, 57)}...` : value;
    return `got ${JSON.stringify(preview)}`;
  }
  if (Array.isArray(value)) {
    if (value.length === 0) return "got an empty array";
    return `got an array of ${value.length} ${value.length === 1 ? "element" : "elements"}`;
  }
  if (typeof value === "object") return "got an object";
  return `got ${String(value)}`;
}

/** A zod error function that reads "must be <expectation>, but got <value>". */
function mustBe(expectation: string) {
  return (issue: { input?: unknown }) => `must be ${expectation}, but ${describeValue(issue.input)}`;
}

const isNonBlank = (text: string) => text.trim() !== "";

const choicesSchema = z
  .record(z.string(), z.string({ error: mustBe("a string (the choice text)") }), {
    error: mustBe("an object mapping choice keys to choice texts"),
  })
  .refine((choices) => Object.keys(choices).every(isNonBlank), {
    error: (issue) => `must have non-empty keys, but got keys ${formatKeys(Object.keys(issue.input as object))}`,
  })
  .refine((choices) => Object.keys(choices).length >= 2, {
    error: (issue) => {
      const keys = Object.keys(issue.input as object);
      return keys.length === 0
        ? "must have at least 2 choices, but got none"
        : `must have at least 2 choices, but got 1 (${formatKeys(keys)})`;
    },
  });

const itemFields = {
  question: z.string({ error: mustBe("a string") }).refine(isNonBlank, { error: mustBe("a non-empty string") }),
  // A numeric `answer` is accepted and stored as text, the form the metrics compare.
  answer: z
    .union([z.string(), z.number().transform((value) => String(value))], { error: mustBe("a string or a number") })
    .refine(isNonBlank, { error: mustBe("a non-empty string or a number") }),
  choices: choicesSchema.optional(),
  id: z.union([z.string(), z.number()], { error: mustBe("a string or a number") }).optional(),
  domain: z.string({ error: mustBe("a string") }).optional(),
  context_chunks: z
    .array(z.string({ error: mustBe("a string") }), { error: mustBe("an array of strings") })
    .optional(),
};

type ParsedItem = z.output<z.ZodObject<typeof itemFields>>;

/** Adds an issue at `answer` when an item with choices names a key it does not have. */
function checkAnswerIsChoiceKey(item: ParsedItem, context: z.RefinementCtx): void {
  if (item.choices === undefined || Object.hasOwn(item.choices, item.answer)) return;
  context.addIssue({
    code: "custom",
    path: ["answer"],
    input: item.answer,
    message: `must be one of the choice keys ${formatKeys(Object.keys(item.choices))}, but got ${JSON.stringify(item.answer)}`,
  });
}

const objectError = mustBe("an object (one item)");

const itemSchema = z.object(itemFields, { error: objectError }).superRefine(checkAnswerIsChoiceKey);

/** One JSONL line or CSV row: an item plus the split it belongs to. */
const splitItemSchema = z
  .object({ split: z.enum(["dev", "test"], { error: mustBe('"dev" or "test"') }), ...itemFields }, { error: objectError })
  .superRefine(checkAnswerIsChoiceKey);

const splitSchema = z
  .array(itemSchema, { error: mustBe("an array of items") })
  .min(1, { error: "must contain at least one item, but is empty" });

/** Evaluation file of Feng et al. (2025): `{"dataset": NAME, "dev": [...], "test": [...]}`. */
const documentSchema = z.object(
  {
    dataset: z.string({ error: mustBe("a string (the dataset name)") }).optional(),
    dev: splitSchema,
    test: splitSchema,
    icl_prompt: z.string({ error: mustBe("a string (the few-shot prefix)") }).optional(),
  },
  { error: mustBe('an object with "dev" and "test" arrays of items') },
);

function formatKeys(keys: string[]): string {
  return keys.map((key) => (/^[\w-]+$/.test(key) ? key : JSON.stringify(key))).join(", ");
}

/** Copies the validated fields in a fixed order, leaving absent optional fields absent. */
function toItem(parsed: ParsedItem): Item {
  const item: Item = { question: parsed.question, answer: parsed.answer };
  if (parsed.choices !== undefined) item.choices = parsed.choices;
  if (parsed.id !== undefined) item.id = parsed.id;
  if (parsed.domain !== undefined) item.domain = parsed.domain;
  if (parsed.context_chunks !== undefined) item.context_chunks = parsed.context_chunks;
  return item;
}

/** Formats a zod path as a JavaScript-style accessor, e.g. dev[12].choices.A. */
function formatPath(path: readonly PropertyKey[]): string {
  let text = "";
  for (const segment of path) {
    if (typeof segment === "number") {
      text += `[${segment}]`;
    } else if (typeof segment === "string" && /^[A-Za-z_$][\w$]*$/.test(segment)) {
      text += text === "" ? segment : `.${segment}`;
    } else {
      text += `[${JSON.stringify(String(segment))}]`;
    }
  }
  return text;
}

// ---------------------------------------------------------------------------------------------
// Checks across items

interface LocatedItem {
  split: SplitName;
  item: Item;
  /** Location of the item: "dev[3]" in a JSON document, "line 3" in JSONL or CSV. */
  where: string;
}

/**
 * Adds an issue for every repeated id that names two different questions in one split.
 *
 * Ids repeat in the evaluation files of Feng et al. (2025): every gsm8k dev item has id 0, and
 * knowledge_crosswords repeats an id for the same question. So only ids that are names are checked: a string that
 * is not all digits (such as "q7"). A number or a digit string (as every CSV id is) may repeat,
 * and a named id may repeat with the same question.
 */
function checkDuplicateIds(items: LocatedItem[], idLocation: (where: string) => string, issues: IssueCollector) {
  const firstUse = new Map<string, LocatedItem>();
  for (const entry of items) {
    const id = entry.item.id;
    if (typeof id !== "string" || id.trim() === "" || /^\d+$/.test(id.trim())) continue;

    const key = `${entry.split}\u0000${id}`;
    const earlier = firstUse.get(key);
    if (earlier === undefined) {
      firstUse.set(key, entry);
    } else if (earlier.item.question !== entry.item.question) {
      issues.add(
        idLocation(entry.where),
        `id ${JSON.stringify(id)} is already used by ${earlier.where} with a different question; ` +
          "give each question its own id",
      );
    }
  }
}

/** Adds an issue for each split that received no item from a line-based file. */
function checkSplitsNotEmpty(items: LocatedItem[], unit: string, issues: IssueCollector): void {
  for (const split of ["dev", "test"] as const) {
    if (!items.some((entry) => entry.split === split)) {
      issues.add(split, `must contain at least one item, but no ${unit} has split "${split}"`);
    }
  }
}

function buildDataset(name: string, items: LocatedItem[], iclPrompt?: string): Dataset {
  const dataset: Dataset = {
    name,
    dev: items.filter((entry) => entry.split === "dev").map((entry) => entry.item),
    test: items.filter((entry) => entry.split === "test").map((entry) => entry.item),
  };
  if (iclPrompt !== undefined) dataset.icl_prompt = iclPrompt;
  return dataset;
}

function stripExtension(fileName: string): string {
  return fileName.replace(/\.[^./\\]+$/, "");
}

// ---------------------------------------------------------------------------------------------
// Paper-format JSON

function parseJsonDocument(text: string, name: string): Dataset {
  const issues = new IssueCollector();

  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const syntax = describeJsonSyntaxError(text, error);
    const hint =
      syntax.message.startsWith('unexpected "{" after the end') ? " (one item per line is JSONL: name the file .jsonl)" : "";
    throwDatasetError(name, syntax.location, `invalid JSON: ${syntax.message}${hint}`);
  }

  const result = documentSchema.safeParse(value, { reportInput: true });
  if (!result.success) {
    for (const issue of result.error.issues) issues.add(formatPath(issue.path) || "top level", issue.message);
    throw new DatasetError(name, issues.issues, issues.count);
  }

  const document = result.data;
  const items: LocatedItem[] = [];
  for (const split of ["dev", "test"] as const) {
    document[split].forEach((parsed, index) => {
      items.push({ split, item: toItem(parsed), where: `${split}[${index}]` });
    });
  }
  checkDuplicateIds(items, (where) => `${where}.id`, issues);
  issues.throwIfAny(name);

  const datasetName = document.dataset !== undefined && isNonBlank(document.dataset) ? document.dataset : stripExtension(name);
  return buildDataset(datasetName, items, document.icl_prompt);
}

// ---------------------------------------------------------------------------------------------
// JSONL: one item per line with a "split" field

function parseJsonLines(text: string, name: string): Dataset {
  const issues = new IssueCollector();
  const items: LocatedItem[] = [];

  text.split(/\r?\n/).forEach((line, index) => {
    const where = `line ${index + 1}`;
    if (line.trim() === "") return;

    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      const syntax = describeJsonSyntaxError(line, error, index + 1);
      issues.add(syntax.location || where, `invalid JSON: ${syntax.message}`);
      return;
    }

    const result = splitItemSchema.safeParse(value, { reportInput: true });
    if (!result.success) {
      for (const issue of result.error.issues) addLineIssue(issues, where, formatPath(issue.path), issue.message);
      return;
    }
    const { split, ...fields } = result.data;
    items.push({ split, item: toItem(fields), where });
  });

  if (issues.count === 0) {
    checkSplitsNotEmpty(items, "line", issues);
    checkDuplicateIds(items, (where) => `${where}, id`, issues);
  }
  issues.throwIfAny(name);
  return buildDataset(stripExtension(name), items);
}

function addLineIssue(issues: IssueCollector, where: string, field: string, message: string): void {
  issues.add(field === "" ? where : `${where}, ${field}`, message);
}

// ---------------------------------------------------------------------------------------------
// CSV: header row with split, question, answer, optional domain and id, and choice_<KEY> columns

const REQUIRED_CSV_COLUMNS = ["split", "question", "answer"] as const;
const CHOICE_COLUMN_PREFIX = "choice_";

function parseCsvDataset(text: string, name: string): Dataset {
  const issues = new IssueCollector();

  let records: CsvRecord[];
  try {
    records = parseCsv(text);
  } catch (error) {
    if (!(error instanceof CsvSyntaxError)) throw error;
    throwDatasetError(name, `line ${error.line}`, error.message);
  }

  const header = records[0];
  if (header === undefined) {
    const columns = REQUIRED_CSV_COLUMNS.join(", ");
    throwDatasetError(name, "", `must have a header row with columns ${columns}, but the file is empty`);
  }
  const columns = readCsvHeader(header, issues);
  issues.throwIfAny(name);

  const items: LocatedItem[] = [];
  for (const record of records.slice(1)) {
    const where = `line ${record.line}`;
    if (record.fields.length !== header.fields.length) {
      issues.add(
        where,
        `must have ${header.fields.length} fields like the header, but got ${record.fields.length}` +
          " (a field that contains a comma must be enclosed in double quotes)",
      );
      continue;
    }

    const result = splitItemSchema.safeParse(csvRowToObject(record.fields, columns), { reportInput: true });
    if (!result.success) {
      for (const issue of result.error.issues) addLineIssue(issues, where, csvColumnOf(issue.path), issue.message);
      continue;
    }
    const { split, ...fields } = result.data;
    items.push({ split, item: toItem(fields), where });
  }

  if (issues.count === 0) {
    checkSplitsNotEmpty(items, "row", issues);
    checkDuplicateIds(items, (where) => `${where}, id`, issues);
  }
  issues.throwIfAny(name);
  return buildDataset(stripExtension(name), items);
}

/** Column positions of the fields the importer reads; other columns are ignored. */
interface CsvColumns {
  split: number;
  question: number;
  answer: number;
  id?: number;
  domain?: number;
  /** Choice key (the text after "choice_") and its column, in header order. */
  choices: { key: string; column: number }[];
}

function readCsvHeader(header: CsvRecord, issues: IssueCollector): CsvColumns {
  const where = `line ${header.line} (header)`;
  const names = header.fields.map((field) => field.trim());
  const positions = new Map<string, number>();

  names.forEach((columnName, column) => {
    if (positions.has(columnName)) {
      issues.add(where, `must name each column once, but "${columnName}" appears twice`);
    }
    positions.set(columnName, column);
    if (columnName === CHOICE_COLUMN_PREFIX) {
      issues.add(where, `choice column "${columnName}" must name its key, e.g. ${CHOICE_COLUMN_PREFIX}A`);
    }
  });

  for (const required of REQUIRED_CSV_COLUMNS) {
    if (!positions.has(required)) {
      issues.add(where, `missing required column "${required}" (the header has: ${names.join(", ")})`);
    }
  }

  const choices = names.flatMap((columnName, column) =>
    columnName.startsWith(CHOICE_COLUMN_PREFIX) && columnName.length > CHOICE_COLUMN_PREFIX.length
      ? [{ key: columnName.slice(CHOICE_COLUMN_PREFIX.length), column }]
      : [],
  );
  return {
    split: positions.get("split") ?? -1,
    question: positions.get("question") ?? -1,
    answer: positions.get("answer") ?? -1,
    id: positions.get("id"),
    domain: positions.get("domain"),
    choices,
  };
}

/**
 * Builds the raw item of one CSV row. Empty id, domain and choice cells count as absent, so
 * a row without any choice text is a free-answer item. Ids stay strings.
 */
function csvRowToObject(fields: string[], columns: CsvColumns): Record<string, unknown> {
  const row: Record<string, unknown> = {
    split: fields[columns.split],
    question: fields[columns.question],
    answer: fields[columns.answer],
  };
  if (columns.id !== undefined && fields[columns.id] !== "") row.id = fields[columns.id];
  if (columns.domain !== undefined && fields[columns.domain] !== "") row.domain = fields[columns.domain];

  const choices: Record<string, string> = {};
  for (const { key, column } of columns.choices) {
    if (fields[column] !== "") choices[key] = fields[column];
  }
  if (Object.keys(choices).length > 0) row.choices = choices;
  return row;
}

/** Names the CSV column behind a zod path: ["choices", "A"] is the column choice_A. */
function csvColumnOf(path: readonly PropertyKey[]): string {
  if (path[0] === "choices" && path.length > 1) return `${CHOICE_COLUMN_PREFIX}${String(path[1])}`;
  if (path[0] === "choices") return "choice columns";
  return formatPath(path);
}

export { CsvSyntaxError, parseCsv, type CsvRecord } from "./csv";
