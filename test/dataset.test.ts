import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { DatasetError, inferMetric, itemKey, parseCsv, parseDataset, type DatasetFormat } from "../server/core/dataset";
import { loadDatasetFile } from "../server/tasks/load";
import type { Dataset } from "../server/core/types";

const testDir = path.dirname(fileURLToPath(import.meta.url));
const brokenDir = path.join(testDir, "fixtures", "broken");
const datasetsDir = process.env.HSWARM_DATASETS ?? path.resolve(testDir, "../../shared/datasets");
const hasDatasets = existsSync(datasetsDir);

if (!hasDatasets) {
  console.warn(`Skipping the paper dataset tests: ${datasetsDir} does not exist (set HSWARM_DATASETS to its folder).`);
}

/** Runs `action` and returns the DatasetError it throws; fails the test if it throws none. */
function datasetErrorOf(action: () => unknown): DatasetError {
  try {
    action();
  } catch (error) {
    if (error instanceof DatasetError) return error;
    throw error;
  }
  throw new Error("the input was imported, but it should have been rejected");
}

describe("parseDataset", () => {
  it("reads the paper's JSON format", () => {
    const text = JSON.stringify({
      dataset: "tiny",
      icl_prompt: "Example: 1 + 1 = 2\n",
      dev: [{ question: "What is 2 + 2?", answer: 4, id: 0, domain: "math", source: "ignored" }],
      test: [{ question: "Pick a prime.", choices: { A: "4", B: "7" }, answer: "B", context_chunks: ["one", "two"] }],
    });

    const dataset = parseDataset(text, "json", "tiny-file.json");

    expect(dataset.name).toBe("tiny");
    expect(dataset.icl_prompt).toBe("Example: 1 + 1 = 2\n");
    expect(dataset.dev).toEqual([{ question: "What is 2 + 2?", answer: "4", id: 0, domain: "math" }]);
    expect(dataset.test).toEqual([
      { question: "Pick a prime.", choices: { A: "4", B: "7" }, answer: "B", context_chunks: ["one", "two"] },
    ]);
    expect(Object.keys(dataset.dev[0])).not.toContain("choices");
  });

  it("names a dataset after its file when no name is given", () => {
    const text = '{"dev": [{"question": "q", "answer": "a"}], "test": [{"question": "q", "answer": "a"}]}';

    expect(parseDataset(text, "json", "arith.json").name).toBe("arith");
    expect(parseDataset('{"split": "dev", "question": "q", "answer": "a"}\n{"split": "test", "question": "q", "answer": "a"}', "jsonl", "lines.jsonl").name).toBe("lines");
  });

  it("skips a byte order mark", () => {
    const text = '\uFEFF{"dev": [{"question": "q", "answer": "a"}], "test": [{"question": "q", "answer": "a"}]}';

    expect(parseDataset(text, "json", "bom.json").dev).toHaveLength(1);
  });

  it("lists five errors and counts the rest", () => {
    const badItems = Array.from({ length: 7 }, () => ({ question: "", answer: "a" }));
    const text = JSON.stringify({ dev: badItems, test: [{ question: "q", answer: "a" }] });

    const error = datasetErrorOf(() => parseDataset(text, "json", "many.json"));

    expect(error.issueCount).toBe(7);
    expect(error.issues).toHaveLength(5);
    expect(error.location).toBe("dev[0].question");
    expect(error.message).toContain("many.json: dev[4].question: must be a non-empty string");
    expect(error.message).not.toContain("dev[5]");
    expect(error.message).toContain("(2 more errors not listed)");
  });

  it("allows numeric ids to repeat", () => {
    const json = JSON.stringify({
      dev: [
        { id: 0, question: "What is 2 + 2?", answer: "4" },
        { id: 0, question: "What is 3 + 3?", answer: "6" },
      ],
      test: [{ id: "12", question: "What is 4 + 4?", answer: "8" }, { id: "12", question: "What is 5 + 5?", answer: "10" }],
    });
    const csv = "split,id,question,answer\ndev,0,What is 2 + 2?,4\ndev,0,What is 3 + 3?,6\ntest,1,What is 4 + 4?,8\n";

    expect(parseDataset(json, "json", "counters.json").dev).toHaveLength(2);
    expect(parseDataset(csv, "csv", "counters.csv").dev).toHaveLength(2);
  });

  it("allows a named id to repeat for the same question", () => {
    const jsonl = [
      '{"split": "dev", "id": "kc-1", "question": "Fill the blank.", "answer": "A", "choices": {"A": "x", "B": "y"}}',
      '{"split": "dev", "id": "kc-1", "question": "Fill the blank.", "answer": "B", "choices": {"A": "y", "B": "x"}}',
      '{"split": "test", "id": "kc-2", "question": "Fill another.", "answer": "A", "choices": {"A": "x", "B": "y"}}',
    ].join("\n");

    expect(parseDataset(jsonl, "jsonl", "repeats.jsonl").dev).toHaveLength(2);
  });

  it("allows a named id in both splits", () => {
    const json = JSON.stringify({
      dev: [{ id: "q1", question: "What is 2 + 2?", answer: "4" }],
      test: [{ id: "q1", question: "What is 4 + 4?", answer: "8" }],
    });

    expect(parseDataset(json, "json", "split-ids.json").test).toHaveLength(1);
  });

  it("rejects an unknown format", () => {
    const error = datasetErrorOf(() => parseDataset("{}", "yaml" as DatasetFormat, "data.yaml"));

    expect(error.message).toContain('format must be "json", "jsonl" or "csv", but got "yaml"');
  });

  it("rejects a CSV file without rows", () => {
    const error = datasetErrorOf(() => parseDataset("", "csv", "empty.csv"));

    expect(error.message).toContain("empty.csv: must have a header row");
  });

  it("rejects a JSON Lines file given as JSON", () => {
    const text = '{"split": "dev", "question": "q", "answer": "a"}\n{"split": "test", "question": "q", "answer": "a"}';

    const error = datasetErrorOf(() => parseDataset(text, "json", "lines.json"));

    expect(error.location).toBe("line 2, column 1");
    expect(error.message).toContain("name the file .jsonl");
  });
});

describe("broken dataset files", () => {
  // Each file has exactly one fault; `location` names the item or line and the field.
  const cases: { file: string; location: string; message: string }[] = [
    { file: "missing-split.json", location: "test", message: "must be an array of items, but is missing" },
    { file: "missing-answer.json", location: "dev[1].answer", message: "must be a string or a number, but is missing" },
    { file: "answer-not-a-choice.json", location: "test[1].answer", message: 'must be one of the choice keys A, B, C, D, but got "E"' },
    { file: "invalid-json.json", location: "line 8, column 7", message: "is a comma missing at the end of line 7?" },
    { file: "trailing-comma.json", location: "line 7, column 3", message: "remove the one on line 6" },
    { file: "empty-split.json", location: "dev", message: "must contain at least one item, but is empty" },
    { file: "choices-array.json", location: "test[0].choices", message: "must be an object mapping choice keys to choice texts, but got an array" },
    { file: "answer-object.json", location: "dev[0].answer", message: "must be a string or a number, but got an object" },
    { file: "empty-question.json", location: "dev[2].question", message: 'must be a non-empty string, but got "   "' },
    { file: "single-choice.json", location: "dev[0].choices", message: "must have at least 2 choices, but got 1 (A)" },
    { file: "duplicate-id.json", location: "dev[2].id", message: 'id "q7" is already used by dev[0] with a different question' },
    { file: "invalid-json.jsonl", location: "line 3, column 62", message: "invalid JSON: expected a property name in double quotes" },
    { file: "invalid-split.jsonl", location: "line 2, split", message: 'must be "dev" or "test", but got "train"' },
    { file: "missing-split-field.jsonl", location: "line 2, split", message: 'must be "dev" or "test", but is missing' },
    { file: "duplicate-id.jsonl", location: "line 5, id", message: 'id "q7" is already used by line 2 with a different question' },
    { file: "no-test-items.jsonl", location: "test", message: 'must contain at least one item, but no line has split "test"' },
    { file: "unterminated-quote.csv", location: "line 3", message: "unterminated quoted field" },
    { file: "stray-quote.csv", location: "line 3", message: "unexpected double quote inside an unquoted field" },
    { file: "missing-column.csv", location: "line 1 (header)", message: 'missing required column "answer"' },
    { file: "field-count.csv", location: "line 4", message: "must have 4 fields like the header, but got 5" },
    { file: "answer-not-a-choice.csv", location: "line 3, answer", message: 'must be one of the choice keys A, B, C, but got "Z"' },
    { file: "single-choice.csv", location: "line 2, choice columns", message: "must have at least 2 choices, but got 1 (A)" },
    { file: "empty-question.csv", location: "line 3, question", message: 'must be a non-empty string, but got ""' },
    { file: "duplicate-id.csv", location: "line 5, id", message: 'id "q7" is already used by line 3 with a different question' },
  ];

  it.each(cases)("$file is rejected at $location", ({ file, location, message }) => {
    const error = datasetErrorOf(() => loadDatasetFile(path.join(brokenDir, file)));

    expect(error.file).toBe(file);
    expect(error.location).toBe(location);
    expect(error.message).toContain(`${file}: ${location}: `);
    expect(error.message).toContain(message);
    expect(error.issueCount).toBe(1);
  });
});

describe("parseCsv", () => {
  it("reads quoted commas, quotes and line breaks", () => {
    const text = 'a,b,c\n"x, y","say ""hi""","two\nlines"\nlast,,\n';

    const records = parseCsv(text);

    expect(records).toHaveLength(3);
    expect(records[1]).toEqual({ line: 2, fields: ["x, y", 'say "hi"', "two\nlines"] });
    expect(records[2]).toEqual({ line: 4, fields: ["last", "", ""] });
  });

  it("accepts CRLF and a missing final line break", () => {
    const records = parseCsv("a,b\r\n1,2\r\n3,4");

    expect(records.map((record) => record.fields)).toEqual([["a", "b"], ["1", "2"], ["3", "4"]]);
    expect(records[2].line).toBe(3);
  });

  it("skips empty lines", () => {
    const records = parseCsv("a,b\n\n1,2\n\n");

    expect(records).toEqual([
      { line: 1, fields: ["a", "b"] },
      { line: 3, fields: ["1", "2"] },
    ]);
  });

  it("keeps a quoted empty field", () => {
    expect(parseCsv('""\n')).toEqual([{ line: 1, fields: [""] }]);
  });
});

describe("equivalent JSON, JSONL and CSV", () => {
  const multipleChoiceJson = JSON.stringify({
    dataset: "capitals",
    dev: [
      {
        question: "Which city is the capital of France?\nPick one, please.",
        choices: { A: "Paris", B: 'Lyon, "the gastronomic capital"' },
        answer: "A",
        id: "q1",
        domain: "geography",
      },
      { question: "Which number is prime?", choices: { A: "4", B: "7", C: "9" }, answer: "B", id: "q2" },
    ],
    test: [{ question: "Which number is even?", choices: { A: "3", B: "8" }, answer: "B", domain: "math" }],
  });
  const multipleChoiceJsonl = [
    '{"split": "dev", "id": "q1", "domain": "geography", "question": "Which city is the capital of France?\\nPick one, please.", "choices": {"A": "Paris", "B": "Lyon, \\"the gastronomic capital\\""}, "answer": "A"}',
    "",
    '{"split": "test", "domain": "math", "question": "Which number is even?", "choices": {"A": "3", "B": "8"}, "answer": "B"}',
    '{"split": "dev", "id": "q2", "question": "Which number is prime?", "choices": {"A": "4", "B": "7", "C": "9"}, "answer": "B", "note": "ignored"}',
  ].join("\n");
  const multipleChoiceCsv = [
    "split,id,question,answer,domain,choice_A,choice_B,choice_C,note",
    'dev,q1,"Which city is the capital of France?\nPick one, please.",A,geography,Paris,"Lyon, ""the gastronomic capital""",,',
    "test,,Which number is even?,B,math,3,8,,",
    "dev,q2,Which number is prime?,B,,4,7,9,ignored",
  ].join("\n");

  const freeAnswerJson = JSON.stringify({
    dev: [{ question: "How many pennies are in a dollar?", answer: 100, id: "7" }],
    test: [{ question: "Write 1600 with a thousands separator.", answer: "1,600", domain: "math" }],
  });
  const freeAnswerJsonl = [
    '{"split": "dev", "question": "How many pennies are in a dollar?", "answer": 100, "id": "7"}',
    '{"split": "test", "question": "Write 1600 with a thousands separator.", "answer": "1,600", "domain": "math"}',
  ].join("\r\n");
  const freeAnswerCsv = [
    "question,answer,split,id,domain",
    "How many pennies are in a dollar?,100,dev,7,",
    'Write 1600 with a thousands separator.,"1,600",test,,math',
    "",
  ].join("\r\n");

  const cases: { name: string; json: string; other: string; format: DatasetFormat }[] = [
    { name: "multiple-choice JSONL", json: multipleChoiceJson, other: multipleChoiceJsonl, format: "jsonl" },
    { name: "multiple-choice CSV", json: multipleChoiceJson, other: multipleChoiceCsv, format: "csv" },
    { name: "free-answer JSONL with CRLF", json: freeAnswerJson, other: freeAnswerJsonl, format: "jsonl" },
    { name: "free-answer CSV with CRLF", json: freeAnswerJson, other: freeAnswerCsv, format: "csv" },
  ];

  it.each(cases)("$name gives the items of the JSON file", ({ json, other, format }) => {
    const fromJson = parseDataset(json, "json", "capitals.json");
    const fromOther = parseDataset(other, format, `capitals.${format}`);

    expect(fromOther.dev).toEqual(fromJson.dev);
    expect(fromOther.test).toEqual(fromJson.test);
  });
});

describe("inferMetric", () => {
  const freeItem = { question: "What is 2 + 2?", answer: "4" };
  const choiceItem = { question: "Which is prime?", choices: { A: "4", B: "7" }, answer: "B" };

  it("returns multiple_choice when every item has choices", () => {
    expect(inferMetric({ name: "mc", dev: [choiceItem], test: [choiceItem] })).toBe("multiple_choice");
  });

  it("returns exact_match when no item has choices", () => {
    expect(inferMetric({ name: "free", dev: [freeItem], test: [freeItem] })).toBe("exact_match");
  });

  it("rejects a mix and names the odd item", () => {
    const dataset: Dataset = { name: "mixed", dev: [choiceItem, choiceItem], test: [choiceItem, freeItem] };

    const error = datasetErrorOf(() => inferMetric(dataset));

    expect(error.location).toBe("test[1]");
    expect(error.message).toContain("mixed: test[1]: has no choices, but dev[0] has choices");
  });
});

describe("itemKey", () => {
  it("differs for items that share an id", () => {
    const item = { question: "q", answer: "a", id: 0 };
    const keys = [itemKey(item, "dev", 0), itemKey(item, "dev", 1), itemKey(item, "test", 0)];

    expect(new Set(keys).size).toBe(3);
  });

  it("is stable for one position", () => {
    expect(itemKey({ question: "q", answer: "a" }, "test", 3)).toBe(itemKey({ question: "other", answer: "b" }, "test", 3));
  });
});

describe("loadDatasetFile", () => {
  const tempDir = mkdtempSync(path.join(os.tmpdir(), "hswarm-dataset-"));
  afterAll(() => rmSync(tempDir, { recursive: true, force: true }));

  it("picks the format from the extension", () => {
    const file = path.join(tempDir, "upper.JSONL");
    writeFileSync(file, '{"split": "dev", "question": "q", "answer": "a"}\n{"split": "test", "question": "q", "answer": "b"}\n');

    expect(loadDatasetFile(file).test).toEqual([{ question: "q", answer: "b" }]);
  });

  it("names the path of a missing file", () => {
    const file = path.join(tempDir, "absent.json");

    const error = datasetErrorOf(() => loadDatasetFile(file));

    expect(error.message).toContain(`${file}: file not found`);
  });

  it("rejects an unknown extension", () => {
    const file = path.join(tempDir, "data.txt");
    writeFileSync(file, "question,answer\n");

    const error = datasetErrorOf(() => loadDatasetFile(file));

    expect(error.message).toContain('unsupported file type (extension ".txt"); expected a .json, .jsonl or .csv file');
  });

  it("rejects a directory", () => {
    const folder = path.join(tempDir, "folder.json");
    mkdirSync(folder);

    const error = datasetErrorOf(() => loadDatasetFile(folder));

    expect(error.message).toContain("is a directory");
  });

  it("rejects text that is not UTF-8", () => {
    const file = path.join(tempDir, "latin1.csv");
    writeFileSync(file, Buffer.from("split,question,answer\ndev,caf\xe9,a\n", "latin1"));

    const error = datasetErrorOf(() => loadDatasetFile(file));

    expect(error.message).toContain("is not valid UTF-8 text");
  });
});

describe.skipIf(!hasDatasets)(`paper datasets in ${datasetsDir}`, () => {
  const expected = [
    { file: "gsm8k.json", dev: 200, test: 1000, metric: "exact_match", icl: false },
    { file: "nlgraph.json", dev: 200, test: 1000, metric: "exact_match", icl: false },
    { file: "mmlu_pro.json", dev: 70, test: 1000, metric: "multiple_choice", icl: false },
    { file: "mmlu.json", dev: 200, test: 1000, metric: "multiple_choice", icl: false },
    { file: "knowledge_crosswords.json", dev: 200, test: 1000, metric: "multiple_choice", icl: true },
    { file: "abkg.json", dev: 50, test: 120, metric: "multiple_choice", icl: false },
  ];

  it.each(expected)("$file imports with its split sizes", ({ file, dev, test, metric, icl }) => {
    const dataset = loadDatasetFile(path.join(datasetsDir, file));

    expect(dataset.dev).toHaveLength(dev);
    expect(dataset.test).toHaveLength(test);
    expect(inferMetric(dataset)).toBe(metric);
    expect(typeof dataset.icl_prompt === "string").toBe(icl);
  });

  it("keeps gsm8k answers with thousands separators as text", () => {
    const dataset = loadDatasetFile(path.join(datasetsDir, "gsm8k.json"));
    const withSeparators = [...dataset.dev, ...dataset.test].filter((item) => /\d,\d{3}/.test(item.answer));

    expect(withSeparators).toHaveLength(14);
  });

  it("locates a syntax error after a whole real file", () => {
    // The line scanner must walk every value of a large valid file before reaching the fault.
    const text = readFileSync(path.join(datasetsDir, "mmlu_pro.json"), "utf8") + "\n}";
    const lastLine = text.split("\n").length;

    const error = datasetErrorOf(() => parseDataset(text, "json", "mmlu_pro.json"));

    expect(error.location).toBe(`line ${lastLine}, column 1`);
    expect(error.message).toContain('unexpected "}" after the end of the JSON value');
  });
});
