import { describe, expect, it } from "vitest";
import { scoreItem } from "../server/core/metrics";
import type { GenerationRequest, Item } from "../server/core/types";
import { SIMULATED_PRESETS, SimulatedBackend, wrongAnswer } from "../server/llm/simulated";
import { syntheticTask } from "./helpers/engine";

const settings = { temperature: 0, maxTokens: 512, topP: 1 };
const task = syntheticTask(200, 0);
const domains = ["algebra", "biology", "chemistry", "history"];

function request(model: number, item: Item, previousResponses: string[] = [], coefficients: number[] | null = null): GenerationRequest {
  return { model, coefficients, prompt: `Question: ${item.question} ${previousResponses.join(" ")}`, settings, item, previousResponses };
}

async function accuracy(backend: SimulatedBackend, model: number, items: Item[], coefficients: number[] | null = null): Promise<number> {
  let correct = 0;
  for (const item of items) {
    const { text } = await backend.generate(request(model, item, [], coefficients));
    correct += scoreItem("multiple_choice", text, item);
  }
  return correct / items.length;
}

describe("simulated pool", () => {
  const backend = new SimulatedBackend(SIMULATED_PRESETS.complementary, domains);

  it("answers deterministically", async () => {
    const item = task.dev[0];
    const first = await backend.generate(request(0, item));
    const second = await new SimulatedBackend(SIMULATED_PRESETS.complementary, domains).generate(request(0, item));

    expect(second.text).toBe(first.text);
  });

  it("writes answers the metrics parse", async () => {
    for (const item of task.dev.slice(0, 60)) {
      const { text } = await backend.generate(request(4, item));
      expect(text, text).toMatch(/(The answer is|Answer:|the final answer is) [A-D]/);
    }
  });

  it("domain experts are strongest on their own domain", async () => {
    const algebra = task.dev.filter((item) => item.domain === "algebra");
    const history = task.dev.filter((item) => item.domain === "history");

    expect(await accuracy(backend, 0, algebra)).toBeGreaterThan(0.7);
    expect(await accuracy(backend, 0, history)).toBeLessThan(0.45);
    expect(await accuracy(backend, 3, history)).toBeGreaterThan(0.7);
  });

  it("verifier recognises a correct previous response", async () => {
    let adopted = 0;
    const items = task.dev.slice(0, 100);
    for (const item of items) {
      const { text } = await backend.generate(request(4, item, [`The answer is ${item.answer}.`]));
      adopted += scoreItem("multiple_choice", text, item);
    }
    expect(adopted / items.length).toBeGreaterThan(0.85);
    expect(await accuracy(backend, 4, items)).toBeLessThan(0.5);
  });

  it("merged weights move the parameters", () => {
    const half = [0.5, 0.5, 0, 0, 0, 0];
    const merged = backend.parameters(0, half);
    const expertA = backend.parameters(0, null);
    const expertB = backend.parameters(1, null);

    expect(merged[0]).toBeLessThan(expertA[0]);
    expect(merged[0]).toBeGreaterThan((expertA[0] + expertB[0]) / 2);
    expect(merged[1]).toBeGreaterThan(expertA[1]);
    expect(backend.parameters(0, [1, 0, 0, 0, 0, 0])).toEqual(expertA);
  });

  it("negative coefficients degrade skills", () => {
    const extrapolated = backend.parameters(0, [2, -1, 0, 0, 0, 0]);
    const plain = backend.parameters(0, null);

    expect(extrapolated[1]).toBeLessThan(plain[1]);
  });

  it("rejects coefficients of the wrong length", () => {
    expect(() => backend.parameters(0, [1, 0])).toThrow(/6 entries/);
  });

  it("wrong answers are plausible", () => {
    const choice: Item = { question: "q", choices: { A: "x", B: "y", C: "z" }, answer: "B" };
    expect(["A", "C"]).toContain(wrongAnswer(choice, 0.3));
    expect(wrongAnswer({ question: "q", answer: "Yes" }, 0.5)).toBe("No");
    expect(wrongAnswer({ question: "q", answer: "1,600" }, 0.1)).not.toBe("1600");
    expect(Number(wrongAnswer({ question: "q", answer: "42" }, 0.4))).not.toBe(42);
  });

  it("rejects an expert with an out-of-range skill", () => {
    const broken = { name: "broken", description: "", experts: [{ name: "x", skills: [1.5], trust: 0, verify: 0, verbosity: 0 }] };
    expect(() => new SimulatedBackend(broken, domains)).toThrow(/skills\[0\] must be a number in \[0, 1\], but got 1.5/);
  });
});
