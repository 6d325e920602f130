// Form state of a pool model and its conversion to the models API input. The API key is
// write-only: the form starts empty, an empty field keeps the stored key, and "remove" clears it.

export const BACKEND_KINDS = ["simulated", "openai", "vllm_lora", "llamacpp_lora"] as const;
export type BackendKind = (typeof BACKEND_KINDS)[number];

export const BACKEND_LABELS: Record<BackendKind, string> = {
  simulated: "simulated (built-in stand-in)",
  openai: "OpenAI-compatible API",
  vllm_lora: "vLLM with LoRA adapters",
  llamacpp_lora: "llama.cpp with LoRA adapters",
};

/**
 * Meaning of a weight-step on each LoRA backend. llama.cpp mixes in output space, which differs
 * from the element-wise adapter merge of Heterogeneous Swarms; the same text is in server/llm/llamacpp-lora.ts.
 */
export const WEIGHT_MIXING_NOTES: Partial<Record<BackendKind, string>> = {
  vllm_lora: "element-wise merge of the experts' adapters (Σ c_k e_k, lora_A and lora_B separately), loaded at runtime",
  llamacpp_lora:
    "output-space mixing: sums the scaled low-rank updates, not the paper's element-wise merge of lora_A and lora_B",
};

export const ADAPTER_PATH_HELP: Partial<Record<BackendKind, string>> = {
  vllm_lora:
    "PEFT adapter folder (adapter_config.json + adapter_model.safetensors) that the HSwarm worker reads; merged adapters go to the adapter cache and are loaded on the server",
  llamacpp_lora: "GGUF adapter file that llama-server preloads with --lora, in pool order",
};

export type ModelField = "endpoint" | "apiKey" | "baseModel" | "adapterPath" | "simulatedPreset" | "weightCapable";

/** Fields a backend uses besides name, model name and generation settings. */
export const BACKEND_FIELDS: Record<BackendKind, readonly ModelField[]> = {
  simulated: ["simulatedPreset", "weightCapable"],
  openai: ["endpoint", "apiKey"],
  vllm_lora: ["endpoint", "apiKey", "baseModel", "adapterPath", "weightCapable"],
  llamacpp_lora: ["endpoint", "apiKey", "baseModel", "adapterPath", "weightCapable"],
};

export interface ModelDraft {
  name: string;
  backend: BackendKind;
  endpoint: string;
  modelName: string;
  temperature: string;
  maxTokens: string;
  topP: string;
  /** New API key; empty keeps the stored one. */
  apiKey: string;
  removeApiKey: boolean;
  baseModel: string;
  adapterPath: string;
  simulatedPreset: string;
  weightCapable: boolean;
}

export interface StoredModel {
  name: string;
  backend: BackendKind;
  endpoint: string | null;
  modelName: string;
  generationSettings: { temperature: number; maxTokens: number; topP: number };
  hasApiKey: boolean;
  baseModel: string | null;
  adapterPath: string | null;
  simulatedPreset: string | null;
  weightCapable: boolean;
}

export function emptyDraft(backend: BackendKind = "openai"): ModelDraft {
  return {
    name: "",
    backend,
    endpoint: "",
    modelName: "",
    temperature: "0",
    maxTokens: "512",
    topP: "1",
    apiKey: "",
    removeApiKey: false,
    baseModel: "",
    adapterPath: "",
    simulatedPreset: "",
    weightCapable: backend !== "openai",
  };
}

export function draftFromModel(model: StoredModel): ModelDraft {
  return {
    name: model.name,
    backend: model.backend,
    endpoint: model.endpoint ?? "",
    modelName: model.modelName,
    temperature: String(model.generationSettings.temperature),
    maxTokens: String(model.generationSettings.maxTokens),
    topP: String(model.generationSettings.topP),
    apiKey: "",
    removeApiKey: false,
    baseModel: model.baseModel ?? "",
    adapterPath: model.adapterPath ?? "",
    simulatedPreset: model.simulatedPreset ?? "",
    weightCapable: model.weightCapable,
  };
}

export interface ModelInputFields {
  name: string;
  backend: BackendKind;
  endpoint: string | null;
  modelName: string;
  generationSettings: { temperature: number; maxTokens: number; topP: number };
  apiKey?: string | null;
  baseModel: string | null;
  adapterPath: string | null;
  simulatedPreset: string | null;
  weightCapable: boolean;
}

export type DraftResult = { ok: true; input: ModelInputFields } | { ok: false; errors: string[] };

/**
 * Converts a draft to the API input, or lists what is wrong with it ("field: reason"). Fields
 * the backend does not use are sent as null, so switching a model's backend clears them.
 * The server checks everything again; these checks only give faster feedback.
 */
export function draftToInput(draft: ModelDraft): DraftResult {
  const errors: string[] = [];
  const uses = new Set(BACKEND_FIELDS[draft.backend]);
  const text = (value: string) => (value.trim() === "" ? null : value.trim());

  if (draft.name.trim() === "") errors.push("name: must not be empty");
  if (draft.modelName.trim() === "") errors.push("model name: must not be empty");

  const temperature = Number(draft.temperature);
  const maxTokens = Number(draft.maxTokens);
  const topP = Number(draft.topP);
  if (draft.temperature.trim() === "" || !Number.isFinite(temperature) || temperature < 0 || temperature > 2) {
    errors.push(`temperature: must be a number in [0, 2], but got "${draft.temperature}"`);
  }
  if (!Number.isInteger(maxTokens) || maxTokens < 1) errors.push(`max tokens: must be a positive integer, but got "${draft.maxTokens}"`);
  if (draft.topP.trim() === "" || !Number.isFinite(topP) || topP <= 0 || topP > 1) errors.push(`top-p: must be a number in (0, 1], but got "${draft.topP}"`);

  const endpoint = uses.has("endpoint") ? text(draft.endpoint) : null;
  if (uses.has("endpoint")) {
    if (endpoint === null) errors.push("endpoint: must be the server's base URL, for example http://127.0.0.1:8000/v1");
    else if (!/^https?:\/\/\S+$/.test(endpoint)) errors.push(`endpoint: must be an http:// or https:// URL, but got "${endpoint}"`);
  }
  const baseModel = uses.has("baseModel") ? text(draft.baseModel) : null;
  const adapterPath = uses.has("adapterPath") ? text(draft.adapterPath) : null;
  if (uses.has("baseModel") && baseModel === null) errors.push("base model: must name the model the adapter belongs to");
  if (uses.has("adapterPath") && adapterPath === null) errors.push("adapter path: must point to the model's adapter");
  const simulatedPreset = uses.has("simulatedPreset") ? text(draft.simulatedPreset) : null;
  if (uses.has("simulatedPreset") && simulatedPreset === null) errors.push("preset: choose the simulated preset the expert comes from");

  if (errors.length > 0) return { ok: false, errors };

  const input: ModelInputFields = {
    name: draft.name.trim(),
    backend: draft.backend,
    endpoint,
    modelName: draft.modelName.trim(),
    generationSettings: { temperature, maxTokens, topP },
    baseModel,
    adapterPath,
    simulatedPreset,
    weightCapable: uses.has("weightCapable") ? draft.weightCapable : false,
  };
  if (!uses.has("apiKey") || draft.removeApiKey) input.apiKey = null;
  else if (draft.apiKey !== "") input.apiKey = draft.apiKey;
  return { ok: true, input };
}
