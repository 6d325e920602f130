import { z } from "zod";
import { openaiSettingsSchema } from "../llm/openai";
import { SIMULATED_PRESETS } from "../llm/simulated";

// Input schemas shared by several routers.

export const idSchema = z.string().trim().min(1, { error: "must be a non-empty id" });

export const nameSchema = z.string().trim().min(1, { error: "must not be empty" }).max(200);

export const BACKENDS = ["simulated", "openai", "vllm_lora", "llamacpp_lora"] as const;
export type BackendName = (typeof BACKENDS)[number];

export const METRICS = ["multiple_choice", "exact_match", "exact_match_reference", "abstain", "judge"] as const;

export const RUN_STATUSES = ["queued", "running", "paused", "cancelled", "completed", "failed"] as const;

/** Sampling settings of every model, plus the openai backend's transport settings (API kind, concurrency, timeout, retries). */
export const generationSettingsSchema = z
  .object({
    temperature: z.number().min(0).max(2).default(0),
    maxTokens: z.number().int().positive().default(512),
    topP: z.number().gt(0).max(1).default(1),
  })
  .extend(optionalWithoutDefaults(openaiSettingsSchema.shape))
  .strict();

/** Makes every defaulted field optional with no default, so that only settings a user sent are stored. */
function optionalWithoutDefaults<Shape extends Record<string, z.ZodDefault<z.ZodType>>>(shape: Shape) {
  const entries = Object.entries(shape).map(([key, field]) => [key, (field.unwrap() as z.ZodType).optional()]);
  return Object.fromEntries(entries) as { [Key in keyof Shape]: z.ZodOptional<ReturnType<Shape[Key]["unwrap"]>> };
}

const chance = z.number().min(0).max(1);

/**
 * A simulated expert's parameters, as in SimulatedExpert (server/llm/simulated.ts). The stored
 * expert's name is always the model's name, so a name sent here is ignored.
 */
export const simulatedParamsSchema = z
  .object({
    name: z.string().optional(),
    skills: z.array(chance).min(1),
    trust: chance,
    verify: chance,
    verbosity: chance,
  })
  .strict();

export type SimulatedParams = z.output<typeof simulatedParamsSchema>;

const endpointSchema = z
  .url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" })
  .transform((url) => url.replace(/\/+$/, ""));

/** Fields of a pool model that a client may write. `apiKey` is write-only. */
const modelFields = {
  name: nameSchema,
  backend: z.enum(BACKENDS),
  endpoint: endpointSchema.nullish(),
  modelName: z.string().trim().min(1, { error: "must not be empty" }).max(500),
  generationSettings: generationSettingsSchema.optional(),
  apiKey: z.string().min(1, { error: "must not be empty; send null to remove the key" }).max(10_000).nullish(),
  baseModel: z.string().trim().min(1).max(500).nullish(),
  adapterPath: z.string().trim().min(1).max(4_000).nullish(),
  simulatedPreset: z.string().trim().min(1).nullish(),
  simulatedParams: simulatedParamsSchema.nullish(),
  weightCapable: z.boolean().optional(),
};

export const modelInputSchema = z.object(modelFields).strict();
export type ModelInput = z.output<typeof modelInputSchema>;

export const modelPatchSchema = z.object(modelFields).partial().strict();
export type ModelPatch = z.output<typeof modelPatchSchema>;

/** The fields that decide how a model is reached, after a patch was applied. */
export interface ModelBackendFields {
  backend: BackendName;
  endpoint?: string | null;
  modelName: string;
  baseModel?: string | null;
  adapterPath?: string | null;
  simulatedPreset?: string | null;
  simulatedParams?: unknown;
}

/**
 * Lists what a model of its backend is missing, as "field: reason" strings, so that a pool
 * cannot store a model that no run could call.
 */
export function backendProblems(model: ModelBackendFields): string[] {
  const problems: string[] = [];
  if (model.backend === "simulated") {
    if (model.simulatedParams == null) {
      const preset = model.simulatedPreset == null ? undefined : SIMULATED_PRESETS[model.simulatedPreset];
      if (preset === undefined) {
        problems.push(
          `simulatedPreset: a simulated model needs simulatedParams or one of the presets ${Object.keys(SIMULATED_PRESETS).join(", ")}, but got ${JSON.stringify(model.simulatedPreset ?? null)}`,
        );
      } else if (!preset.experts.some((expert) => expert.name === model.modelName)) {
        problems.push(
          `modelName: must name an expert of preset "${preset.name}" (${preset.experts.map((expert) => expert.name).join(", ")}), but got ${JSON.stringify(model.modelName)}`,
        );
      }
    }
    return problems;
  }

  if (model.endpoint == null) problems.push(`endpoint: the ${model.backend} backend needs the server's base URL`);
  if (model.backend === "vllm_lora" || model.backend === "llamacpp_lora") {
    if (model.baseModel == null) problems.push(`baseModel: the ${model.backend} backend needs the base model the adapter belongs to`);
    if (model.adapterPath == null) problems.push(`adapterPath: the ${model.backend} backend needs the model's adapter`);
  }
  return problems;
}
