import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  abstainPrompt,
  abstainRecord,
  effectiveReliability,
  exactMatch,
  exactMatchReference,
  judgePrompt,
  judgeUtility,
  normaliseNumber,
  parseChoice,
  parseFinalAnswer,
  parseFinalNumber,
  parseJudgeScore,
  parseTrueFalse,
  reliabilityScore,
  scoreItem,
  scoreWithJudge,
} from "../server/core/metrics";
import type { Item } from "../server/core/types";

const testDir = path.dirname(fileURLToPath(import.meta.url));
const datasetsDir = process.env.HSWARM_DATASETS ?? path.resolve(testDir, "../../shared/datasets");
const hasDatasets = existsSync(datasetsDir);

if (!hasDatasets) {
  console.warn(`Skipping the metric checks on paper datasets: ${datasetsDir} does not exist (set HSWARM_DATASETS to its folder).`);
}

const CITIES = { A: "London", B: "Berlin", C: "Paris", D: "Madrid" };
const POLAR = { A: "yes", B: "no", C: "maybe", D: "unknown" };
const NUMBERS = { A: "30", B: "0", C: "3", D: "-3" };
const TEN = { A: "1", B: "2", C: "3", D: "4", E: "5", F: "6", G: "7", H: "8", I: "9", J: "10" };

type ChoiceCase = [output: string, expected: string | null];

describe("parseChoice", () => {
  it.each<ChoiceCase>([
    ["B", "B"],
    ["(B)", "B"],
    ["[B]", "B"],
    ["**B**", "B"],
    ["\\boxed{B}", "B"],
    ["$\\boxed{\\text{C}}$", "C"],
    ["Ｂ", "B"],
    ["答案是（Ｄ）", "D"],
    ["Answer: B", "B"],
    ["**Answer:** D", "D"],
    ["the answer is b.", "B"],
    ["The correct option is (C).", "C"],
    ["B) Berlin", "B"],
    ["<answer>C</answer>", "C"],
  ])("reads the decorated key in %j", (output, expected) => {
    expect(parseChoice(output, CITIES)).toBe(expected);
  });

  it.each<ChoiceCase>([
    ["A good answer is B", "B"],
    ["A better choice would be Paris.", "C"],
    ["a reasonable guess is D.", "D"],
    ["Because Paris is the capital, the answer is C.", "C"],
    ["Because of its history, C.", "C"],
    ["Answer", null],
    ["Definitely not sure.", null],
    ["I think the answer is D.", "D"],
    ["I believe it is Berlin.", "B"],
    ["Answer: I think it is D", "D"],
    ["The answer is a bit unclear, so I guess C.", "C"],
    ["A", "A"],
    ["A is correct.", "A"],
    ["I think A", "A"],
  ])("does not read an English word as a key in %j", (output, expected) => {
    expect(parseChoice(output, CITIES)).toBe(expected);
  });

  it("reads the key I with ten options", () => {
    expect(parseChoice("The answer is I.", TEN)).toBe("I");
  });

  it("skips the pronoun I with ten options", () => {
    expect(parseChoice("I think the answer is J.", TEN)).toBe("J");
  });

  it.each<ChoiceCase>([
    ["not B, the answer is D", "D"],
    ["B is wrong. Final answer: D", "D"],
    ["The answer is B. Wait, the answer is actually C.", "C"],
    ["At first I thought A, but the answer is C.", "C"],
    ["A is wrong, B is wrong, so D.", "D"],
    ["(A) is incorrect. (C) is correct.", "C"],
    ["Not Berlin. I choose Paris.", "C"],
    ["(A) and (B) are both wrong. Paris is right.", "C"],
  ])("takes the final answer over an earlier mention in %j", (output, expected) => {
    expect(parseChoice(output, CITIES)).toBe(expected);
  });

  it.each<ChoiceCase>([
    ["Answer: C. This is because Paris is the capital of France, unlike B.", "C"],
    ["The answer is B. Option C is wrong because it is in France.", "B"],
    ["B. Berlin is the capital of Germany, while London is in England.", "B"],
    ["The answer is (D) Madrid, as (A) London is in England.", "D"],
  ])("keeps the answer when text follows it in %j", (output, expected) => {
    expect(parseChoice(output, CITIES)).toBe(expected);
  });

  it.each<ChoiceCase>([
    ["The answer is Paris", "C"],
    ["It is madrid.", "D"],
    ["The answer is: Berlin, the capital of Germany.", "B"],
  ])("reads the option text in %j", (output, expected) => {
    expect(parseChoice(output, CITIES)).toBe(expected);
  });

  it.each<ChoiceCase>([
    ["I cannot answer this", null],
    ["Nobody knows.", null],
    ["It is unknowable.", null],
    ["The answer is no.", "B"],
    ["Maybe.", "C"],
  ])("matches option text only as a whole word in %j", (output, expected) => {
    expect(parseChoice(output, POLAR)).toBe(expected);
  });

  it.each<ChoiceCase>([
    ["There are 30 of them.", "A"],
    ["The answer is 0.", "B"],
    ["The answer is -3", "D"],
    ["The answer is 3.", "C"],
    ["Roughly 0.5 or 1.5 of them.", null],
    ["About 300 of them.", null],
  ])("matches numeric option text only as a whole number in %j", (output, expected) => {
    expect(parseChoice(output, NUMBERS)).toBe(expected);
  });

  it.each<ChoiceCase>([
    ["The answer is E", null],
    ["(F)", null],
    ["Answer: J.", null],
    ["E", null],
  ])("rejects a key beyond the item's options in %j", (output, expected) => {
    expect(parseChoice(output, CITIES)).toBe(expected);
  });

  it("accepts J when the item has ten options", () => {
    expect(parseChoice("Answer: J.", TEN)).toBe("J");
  });

  it("reads numeric keys", () => {
    expect(parseChoice("The answer is 2", { "1": "red", "2": "blue" })).toBe("2");
  });

  it("reads word keys", () => {
    expect(parseChoice("Answer: false", { true: "It holds", false: "It fails" })).toBe("false");
  });

  it.each<ChoiceCase>([
    ["", null],
    ["   \n ", null],
    ["I cannot answer this question.", null],
    ["I'm sorry, but I can't help with that.", null],
    ["Let me think step by step. First, the capital of France is", null],
    ["To answer this, I", null],
    ["The answer is", null],
    ["There are several reasons. A", null],
  ])("returns null for empty, refused or cut-off %j", (output, expected) => {
    expect(parseChoice(output, CITIES)).toBe(expected);
  });

  it("ignores a few-shot continuation after the answer", () => {
    expect(parseChoice("C.\nQuestion: Which city is in Spain?\nThe answer is D.", CITIES)).toBe("C");
  });

  it("reads past a restated question when nothing comes before it", () => {
    expect(parseChoice("Sure.\nQuestion: Which city is the capital?\nThe answer is C.", CITIES)).toBe("C");
  });
});

type MatchCase = [output: string, gold: string, expected: boolean];

describe("exactMatch", () => {
  it.each<MatchCase>([
    ["150", "15", false],
    ["The answer is 150.", "15", false],
    ["The answer is 15.", "5", false],
    ["The answer is -3.", "3", false],
    ["The answer is 3.", "-3", false],
    ["The answer is 18.5", "18", false],
    ["The answer is 18.", "18", true],
    ["The answer is 5.", "15", false],
  ])("does not match a number inside another in %j (gold %j)", (output, gold, expected) => {
    expect(exactMatch(output, gold)).toBe(expected);
  });

  it.each<MatchCase>([
    ["The answer is 1600.", "1,600", true],
    ["The answer is 1,600.", "1600", true],
    ["The answer is 1,600.", "1,600", true],
    ["#### 1,450,000", "1,450,000", true],
    ["The answer is 16,00.", "1600", false],
    ["The answer is \\boxed{1{,}600}.", "1600", true],
  ])("reads thousands separators in %j (gold %j)", (output, gold, expected) => {
    expect(exactMatch(output, gold)).toBe(expected);
  });

  it.each<MatchCase>([
    ["The answer is $18.", "18", true],
    ["He spends $112 in total. The answer is $112.00", "112", true],
    ["The answer is 15 apples.", "15", true],
    ["The distance is 15 km", "15", true],
    ["The answer is 15.0", "15", true],
    ["\\boxed{15}", "15", true],
    ["The answer is \\frac{1}{2}.", "0.5", true],
    ["The answer is 5 + 10 = 15.", "15", true],
    ["The answer is twelve.", "12", true],
    ["The answer is one of the options.", "1", false],
  ])("reads currency, units and trailing zeros in %j (gold %j)", (output, gold, expected) => {
    expect(exactMatch(output, gold)).toBe(expected);
  });

  it.each<MatchCase>([
    ["The answer is 42. Let me double check: 6*7=42, yes.", "42", true],
    ["The answer is 12. Check: 3 * 4 = 12, in 2 steps.", "12", true],
    ["Answer: 7\n\nExplanation: 2 + 5 = 7, and the other 3 are unrelated.", "7", true],
    ["Not 15, the answer is 20.", "20", true],
    ["The answer is 15. Wait, no: the answer is 20.", "15", false],
  ])("compares the final answer in %j (gold %j)", (output, gold, expected) => {
    expect(exactMatch(output, gold)).toBe(expected);
  });

  it.each<MatchCase>([
    ["Yes", "Yes", true],
    ["yes.", "Yes", true],
    ["**Yes**", "Yes", true],
    ["No, there is no path between node 3 and node 5.", "No", true],
    ["No, there is no path between node 3 and node 5.", "Yes", false],
    ["Yes, node 12 and node 8 are connected.", "No", false],
    ["The answer is no.", "No", true],
    ["There is no path from node 1 to node 9.", "No", true],
    ["Yes or no? I can't tell.", "Yes", false],
    ["Paris.", "paris", true],
  ])("compares a word gold without case or punctuation in %j (gold %j)", (output, gold, expected) => {
    expect(exactMatch(output, gold)).toBe(expected);
  });

  it.each<MatchCase>([
    ["", "15", false],
    ["I cannot answer this.", "15", false],
    ["Let me think step by step. First, we", "15", false],
    ["", "Yes", false],
    ["I cannot answer this question.", "No", false],
  ])("scores empty, refused or cut-off %j as wrong (gold %j)", (output, gold, expected) => {
    expect(exactMatch(output, gold)).toBe(expected);
  });
});

describe("parseFinalAnswer", () => {
  it.each<[string, string | null]>([
    ["The answer is $1,600.", "1600"],
    ["#### 72", "72"],
    ["Answer: Yes, there is.", "yes"],
    ["She had 3 apples and ate 1, so 2 remain", "2"],
    ["It depends", "depends"],
    ["", null],
  ])("parses %j as %j", (output, expected) => {
    expect(parseFinalAnswer(output)).toBe(expected);
  });

  it("prefers the answer phrase over a later number", () => {
    expect(parseFinalNumber("The answer is 42. Let me double check: 6*7=42, checked 3 times.")).toBe("42");
  });
});

describe("normaliseNumber", () => {
  it.each<[string, string | null]>([
    ["1,600", "1600"],
    ["$1,600.00", "1600"],
    ["15 km", "15"],
    ["-3", "-3"],
    ["18.50", "18.5"],
    ["\\frac{1}{2}", "0.5"],
    ["\\boxed{42}", "42"],
    ["25%", "25"],
    ["Yes", null],
    ["3 and 4", null],
  ])("normalises %j to %j", (text, expected) => {
    expect(normaliseNumber(text)).toBe(expected);
  });
});

describe("exactMatchReference", () => {
  it.each<[string, string]>([
    ["150", "15"],
    ["The answer is -3", "3"],
    ["The answer is 18.5", "18"],
    ["Node 4 is isolated, so yes", "No"],
  ])("accepts %j for gold %j where exactMatch does not", (output, gold) => {
    expect(exactMatchReference(output, gold)).toBe(true);
    expect(exactMatch(output, gold)).toBe(false);
  });

  it("rejects 1600 for gold 1,600 where exactMatch accepts it", () => {
    expect(exactMatchReference("The answer is 1600.", "1,600")).toBe(false);
    expect(exactMatch("The answer is 1600.", "1,600")).toBe(true);
  });

  it("reads only the last words when asked", () => {
    const output = "First we get 72 apples, then we give some away.\nThe answer is 15";
    expect(exactMatchReference(output, "72")).toBe(true);
    expect(exactMatchReference(output, "72", { lastWords: 5 })).toBe(false);
    expect(exactMatchReference(output, "15", { lastWords: 5 })).toBe(true);
  });

  it("rejects a word count below one", () => {
    expect(() => exactMatchReference("15", "15", { lastWords: 0 })).toThrow(/positive integer/);
  });
});

describe("scoreItem", () => {
  const choiceItem: Item = { question: "Which city is the capital of France?", choices: CITIES, answer: "C", id: 7 };
  const numberItem: Item = { question: "How many pennies?", answer: "15" };

  it("scores multiple choice", () => {
    expect(scoreItem("multiple_choice", "The answer is (C).", choiceItem)).toBe(1);
    expect(scoreItem("multiple_choice", "The answer is B.", choiceItem)).toBe(0);
  });

  it("scores exact match against the reference rule", () => {
    expect(scoreItem("exact_match", "The answer is 150.", numberItem)).toBe(0);
    expect(scoreItem("exact_match_reference", "The answer is 150.", numberItem)).toBe(1);
  });

  it("passes the word window to the reference rule", () => {
    const output = "I first got 15 but that was wrong, so the answer is 16";
    expect(scoreItem("exact_match_reference", output, numberItem, { referenceLastWords: 5 })).toBe(0);
  });

  it("rejects multiple choice on an item without choices", () => {
    expect(() => scoreItem("multiple_choice", "A", numberItem)).toThrow(/needs an item with choices/);
  });

  it("rejects metrics that need a second call", () => {
    expect(() => scoreItem("abstain", "A", choiceItem)).toThrow(/second pass/);
    expect(() => scoreItem("judge", "A", choiceItem)).toThrow(/scoreWithJudge/);
  });
});

describe("parseTrueFalse", () => {
  it.each<[string, boolean | null]>([
    ["True", true],
    ["false.", false],
    ["The answer is true", true],
    ["No, it is false.", false],
    ["Yes", true],
    ["**False**", false],
    ["Not true.", false],
    ["The proposed answer is correct.", true],
    ["The proposed answer is not correct.", false],
    ["I think this one is false", false],
    ["True or false? I am not sure.", null],
    ["Hmm", null],
    ["", null],
  ])("parses %j as %j", (output, expected) => {
    expect(parseTrueFalse(output)).toBe(expected);
  });
});

describe("effective reliability", () => {
  it("scores right, wrong and abstained answers", () => {
    expect(reliabilityScore({ correct: true, abstained: false })).toBe(1);
    expect(reliabilityScore({ correct: false, abstained: false })).toBe(-1);
    expect(reliabilityScore({ correct: false, abstained: true })).toBe(0);
    expect(reliabilityScore({ correct: true, abstained: true })).toBe(0);
  });

  it("averages over all records", () => {
    const records = [
      { correct: true, abstained: false },
      { correct: true, abstained: false },
      { correct: false, abstained: false },
      { correct: false, abstained: true },
    ];
    expect(effectiveReliability(records)).toBe(0.25);
  });

  it("rejects an empty list", () => {
    expect(() => effectiveReliability([])).toThrow(/at least one record/);
  });

  it("counts an unparsable verdict as abstained", () => {
    expect(abstainRecord(false, "Hmm, hard to say.")).toEqual({ correct: false, abstained: true });
    expect(abstainRecord(true, "True.")).toEqual({ correct: true, abstained: false });
    expect(abstainRecord(true, "False.")).toEqual({ correct: true, abstained: true });
  });

  it("asks for a verdict on the proposed answer", () => {
    const prompt = abstainPrompt("Which city is the capital of France?\nA: London\nB: Paris", "The answer is B.");
    expect(prompt).toContain("Which city is the capital of France?\nA: London\nB: Paris");
    expect(prompt).toContain("Proposed answer: The answer is B.");
    expect(prompt).toMatch(/true or false\?/i);
  });
});

describe("judge", () => {
  it.each<[string, number | null]>([
    ["Rating: 7", 7],
    ["Rating: 7/10. The answer misses one detail.", 7],
    ["7/10", 7],
    ["[[8]]", 8],
    ["I would give it a 9 out of 10.", 9],
    ["**Score**: 6.5/10", 6.5],
    ["Rating: 3/10 at first, but after checking the units, Rating: 8/10", 8],
    ["Rating: 8/10. It covers 3 out of 10 key points.", 8],
    ["10", 10],
    ["Rating: 11", null],
    ["Rating: 0/10", null],
    ["Rating: 4/5", null],
    ["Rating: ?/10", null],
    ["The answer is fine.", null],
  ])("parses %j as %j", (output, expected) => {
    expect(parseJudgeScore(output)).toBe(expected);
  });

  it("maps ratings to utilities", () => {
    expect(judgeUtility(1)).toBe(0);
    expect(judgeUtility(10)).toBe(1);
    expect(judgeUtility(5.5)).toBe(0.5);
    expect(judgeUtility(null)).toBe(0);
  });

  it("rejects a utility for a rating out of range", () => {
    expect(() => judgeUtility(11)).toThrow(/between 1 and 10/);
  });

  it("sends the question, reference and answer to the judge", async () => {
    const prompts: string[] = [];
    const judge = async (prompt: string) => {
      prompts.push(prompt);
      return "Rating: 10/10. Same as the reference.";
    };
    const item: Item = { question: "Name the capital of France.", answer: "Paris" };

    expect(await scoreWithJudge(judge, item, "It is Paris.")).toBe(1);
    expect(prompts).toHaveLength(1);
    expect(prompts[0]).toContain("Name the capital of France.");
    expect(prompts[0]).toContain("Reference answer:\nParis");
    expect(prompts[0]).toContain("It is Paris.");
  });

  it("scores an unparsable judge output as 0", async () => {
    const judge = async () => "I cannot rate this.";
    expect(await scoreWithJudge(judge, { question: "Q?", answer: "A" }, "B")).toBe(0);
  });

  it("builds a prompt that asks for the rating format", () => {
    expect(judgePrompt("Q?", "ref", "ans")).toContain("Rating: N/10");
  });
});

interface DatasetFile {
  dev: Item[];
  test: Item[];
}

function readItems(file: string): Item[] {
  const dataset = JSON.parse(readFileSync(path.join(datasetsDir, file), "utf8")) as DatasetFile;
  return [...dataset.dev, ...dataset.test];
}

/** Describes each item for which `check` fails, up to five. */
function failures(items: Item[], check: (item: Item) => boolean): string[] {
  const failed: string[] = [];
  for (const item of items) {
    if (!check(item) && failed.length < 5) failed.push(`${String(item.id)}: ${JSON.stringify(item.answer)}`);
  }
  return failed;
}

describe.skipIf(!hasDatasets)("metrics on the paper datasets", () => {
  const choiceFiles = ["mmlu.json", "mmlu_pro.json", "knowledge_crosswords.json", "abkg.json"];

  describe.each(choiceFiles)("%s", (file) => {
    const items = hasDatasets ? readItems(file) : [];

    it.each<[string, (key: string) => string]>([
      ["The answer is X.", (key) => `The answer is ${key}.`],
      ["(X)", (key) => `(${key})`],
      ["Answer: X and an explanation", (key) => `Answer: ${key}\nExplanation: the other options do not fit.`],
      ["**X**", (key) => `**${key}**`],
    ])("parses every gold key written as %s", (_form, render) => {
      expect(failures(items, (item) => parseChoice(render(item.answer), item.choices!) === item.answer)).toEqual([]);
    });

    it("parses every gold option text", () => {
      const unique = items.filter((item) => {
        const texts = Object.values(item.choices!).map((text) => text.trim().toLowerCase());
        return new Set(texts).size === texts.length;
      });
      expect(failures(unique, (item) => parseChoice(`The answer is ${item.choices![item.answer]}`, item.choices!) === item.answer)).toEqual([]);
    });

    it("never reads another key as the gold", () => {
      const wrongKey = (item: Item) => Object.keys(item.choices!).find((key) => key !== item.answer)!;
      expect(failures(items, (item) => parseChoice(`The answer is ${wrongKey(item)}.`, item.choices!) === wrongKey(item))).toEqual([]);
    });
  });

  describe.each(["gsm8k.json", "nlgraph.json"])("%s", (file) => {
    const items = hasDatasets ? readItems(file) : [];
    const numeric = items.filter((item) => normaliseNumber(item.answer) !== null);

    it("matches every gold rendered as the answer", () => {
      expect(failures(items, (item) => exactMatch(`Let me work it out. The answer is ${item.answer}.`, item.answer))).toEqual([]);
    });

    it("matches every numeric gold without thousands separators", () => {
      expect(failures(numeric, (item) => exactMatch(`The answer is ${item.answer.replace(/,/g, "")}.`, item.answer))).toEqual([]);
    });

    it("rejects a longer number that contains the gold", () => {
      expect(failures(numeric, (item) => !exactMatch(`The answer is ${item.answer}0.`, item.answer))).toEqual([]);
    });

    it("rejects the opposite of a yes/no gold", () => {
      const opposite = (gold: string) => (gold === "Yes" ? "No" : "Yes");
      const polar = items.filter((item) => item.answer === "Yes" || item.answer === "No");
      expect(failures(polar, (item) => !exactMatch(`${opposite(item.answer)}, the nodes are as described.`, item.answer))).toEqual([]);
    });
  });
});
