import { describe, expect, it } from "vitest";
import { WEIGHT_MIXING_NOTES } from "../../components/data/model-form";
import { LLAMACPP_LORA_MIXING_LABEL } from "../../server/llm/llamacpp-lora";

describe("weight mixing notes", () => {
  it("match the llama.cpp backend's label", () => {
    expect(WEIGHT_MIXING_NOTES.llamacpp_lora).toBe(LLAMACPP_LORA_MIXING_LABEL);
  });
});
