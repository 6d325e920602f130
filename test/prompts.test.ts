import { describe, expect, it } from "vitest";
import { DEFAULT_TEMPLATES, renderPrompt } from "../server/core/prompts";
import type { Item } from "../server/core/types";

const item: Item = { question: "Which planet is largest?", choices: { A: "Mars", B: "Jupiter" }, answer: "B" };

describe("renderPrompt", () => {
  it("gives a first step the instruction and the question", () => {
    const prompt = renderPrompt(DEFAULT_TEMPLATES, item, 0, []);

    expect(prompt).toBe("Please answer the following question.\n\nQuestion: Which planet is largest?\nA: Mars\nB: Jupiter");
  });

  it("lists previous responses between instruction and question", () => {
    const prompt = renderPrompt(DEFAULT_TEMPLATES, item, 1, ["The answer is A.", "The answer is B."]);

    expect(prompt.startsWith(DEFAULT_TEMPLATES.laterStep)).toBe(true);
    expect(prompt).toContain("Previous response 1: The answer is A.\n\nPrevious response 2: The answer is B.");
    expect(prompt.indexOf("Previous response 2")).toBeLessThan(prompt.indexOf("Question:"));
  });

  it("flattens newlines only when asked to", () => {
    const kept = renderPrompt(DEFAULT_TEMPLATES, item, 1, ["line one\nline two"]);
    const flat = renderPrompt({ ...DEFAULT_TEMPLATES, keepNewlines: false }, item, 1, ["line one\n  line two"]);

    expect(kept).toContain("line one\nline two");
    expect(flat).toContain("Previous response 1: line one line two");
  });

  it("gives position i the context chunk i modulo count", () => {
    const chunked: Item = { question: "Q?", answer: "x", context_chunks: ["first", "second"] };

    expect(renderPrompt(DEFAULT_TEMPLATES, chunked, 0, [])).toMatch(/^Context: first\n/);
    expect(renderPrompt(DEFAULT_TEMPLATES, chunked, 1, [])).toMatch(/^Context: second\n/);
    expect(renderPrompt(DEFAULT_TEMPLATES, chunked, 2, [])).toMatch(/^Context: first\n/);
  });

  it("puts the few-shot prefix first", () => {
    expect(renderPrompt(DEFAULT_TEMPLATES, item, 0, [], "Example: 1+1=2")).toMatch(/^Example: 1\+1=2\n\nPlease answer/);
  });
});
