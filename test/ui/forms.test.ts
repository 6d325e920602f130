import { describe, expect, it } from "vitest";
import { draftFromModel, draftToInput, emptyDraft, type ModelDraft } from "../../components/data/model-form";
import { datasetFormatOf, taskNameOf } from "../../components/data/task-form";

const openai: ModelDraft = { ...emptyDraft("openai"), name: "gpt", modelName: "gpt-4o-mini", endpoint: "http://127.0.0.1:8000/v1" };

function inputOf(draft: ModelDraft) {
  const result = draftToInput(draft);
  if (!result.ok) throw new Error(result.errors.join("; "));
  return result.input;
}

function errorsOf(draft: ModelDraft): string[] {
  const result = draftToInput(draft);
  return result.ok ? [] : result.errors;
}

describe("draftToInput", () => {
  it("converts generation settings to numbers", () => {
    expect(inputOf({ ...openai, temperature: "0.7", maxTokens: "256", topP: "0.9" }).generationSettings).toEqual({
      temperature: 0.7,
      maxTokens: 256,
      topP: 0.9,
    });
  });

  it("leaves the API key out when the field is empty", () => {
    expect("apiKey" in inputOf(openai)).toBe(false);
  });

  it("sends a new API key", () => {
    expect(inputOf({ ...openai, apiKey: "sk-test" }).apiKey).toBe("sk-test");
  });

  it("sends null to remove the API key", () => {
    expect(inputOf({ ...openai, apiKey: "ignored", removeApiKey: true }).apiKey).toBeNull();
  });

  it("requires an http endpoint for API backends", () => {
    expect(errorsOf({ ...openai, endpoint: "" })[0]).toMatch(/^endpoint: must be the server's base URL/);
    expect(errorsOf({ ...openai, endpoint: "ftp://x" })[0]).toMatch(/^endpoint: must be an http/);
  });

  it("requires base model and adapter for LoRA backends", () => {
    const errors = errorsOf({ ...openai, backend: "vllm_lora" });

    expect(errors).toContain("base model: must name the model the adapter belongs to");
    expect(errors).toContain("adapter path: must point to the model's adapter");
  });

  it("clears fields the backend does not use", () => {
    const input = inputOf({ ...openai, backend: "simulated", simulatedPreset: "complementary", apiKey: "sk" });

    expect(input.endpoint).toBeNull();
    expect(input.apiKey).toBeNull();
    expect(input.simulatedPreset).toBe("complementary");
  });

  it("keeps OpenAI models' weights fixed", () => {
    expect(inputOf({ ...openai, weightCapable: true }).weightCapable).toBe(false);
  });

  it("names every invalid setting", () => {
    const errors = errorsOf({ ...openai, name: " ", temperature: "hot", maxTokens: "0", topP: "0" });

    expect(errors).toHaveLength(4);
    expect(errors[0]).toBe("name: must not be empty");
    expect(errors[1]).toBe('temperature: must be a number in [0, 2], but got "hot"');
  });
});

describe("draftFromModel", () => {
  it("starts with an empty API key whether or not one is stored", () => {
    const draft = draftFromModel({
      name: "m",
      backend: "openai",
      endpoint: "http://127.0.0.1:1/v1",
      modelName: "x",
      generationSettings: { temperature: 0, maxTokens: 512, topP: 1 },
      hasApiKey: true,
      baseModel: null,
      adapterPath: null,
      simulatedPreset: null,
      weightCapable: false,
    });

    expect(draft.apiKey).toBe("");
    expect(draft.endpoint).toBe("http://127.0.0.1:1/v1");
  });
});

describe("datasetFormatOf", () => {
  it("reads the format from the extension", () => {
    expect(datasetFormatOf("mmlu.json")).toBe("json");
    expect(datasetFormatOf("items.JSONL")).toBe("jsonl");
    expect(datasetFormatOf("a.b.csv")).toBe("csv");
  });

  it("rejects other files", () => {
    expect(datasetFormatOf("data.txt")).toBeNull();
    expect(datasetFormatOf("json")).toBeNull();
  });
});

describe("taskNameOf", () => {
  it("drops the folder and extension", () => {
    expect(taskNameOf("C:\\data\\mmlu_pro.json")).toBe("mmlu_pro");
    expect(taskNameOf("/tmp/gsm8k.jsonl")).toBe("gsm8k");
  });
});
