import { CONFIG_HELP, METHODS, searchConfigSchema, type SearchConfig } from "../../server/core/config";

// Form model of the new-run page. The defaults, the one-line help and the validation are the
// search's own (server/core/config), so the form cannot drift from what the server accepts.

export { METHODS };
export type ConfigKey = keyof SearchConfig;

export type FieldKind = "number" | "integer" | "boolean" | "choice" | "optionalInteger" | "optionalNumber";

export interface ConfigField {
  key: ConfigKey;
  kind: FieldKind;
  help: string;
  defaultValue: string;
  choices?: readonly string[];
}

export const CONFIG_DEFAULTS: SearchConfig = searchConfigSchema.parse({});

/** Form sections: the swarm's hyperparameters first, then stopping rules, G-Decode and evaluation. */
export const CONFIG_SECTIONS: { title: string; keys: ConfigKey[] }[] = [
  { title: "Swarm", keys: ["graphs", "assignments", "inertia", "cognitive", "social", "repel", "repelOn", "randomFactors", "startVelocity"] },
  { title: "Step length and restarts", keys: ["stepLength", "stepLengthFactor", "minStepLength", "restartStrays", "restartPatience"] },
  { title: "Stopping", keys: ["maxIterations", "patience", "budgetCalls", "budgetTokens"] },
  { title: "G-Decode", keys: ["topP", "decodeMode", "edgeThreshold", "sparsifyTau"] },
  { title: "Generation and evaluation", keys: ["temperature", "maxTokens", "devLimit", "testLimit", "concurrency"] },
];

const CHOICES: Partial<Record<ConfigKey, readonly string[]>> = {
  startVelocity: ["random", "zero"],
  decodeMode: ["tree", "dag"],
};

const INTEGERS = new Set<ConfigKey>(["seed", "graphs", "assignments", "patience", "maxIterations", "maxTokens", "concurrency"]);
const OPTIONAL_INTEGERS = new Set<ConfigKey>(["budgetCalls", "budgetTokens", "devLimit", "testLimit"]);
const OPTIONAL_NUMBERS = new Set<ConfigKey>(["sparsifyTau"]);

function kindOf(key: ConfigKey): FieldKind {
  if (CHOICES[key]) return "choice";
  if (typeof CONFIG_DEFAULTS[key] === "boolean") return "boolean";
  if (OPTIONAL_INTEGERS.has(key)) return "optionalInteger";
  if (OPTIONAL_NUMBERS.has(key)) return "optionalNumber";
  return INTEGERS.has(key) ? "integer" : "number";
}

export function configField(key: ConfigKey): ConfigField {
  const value = CONFIG_DEFAULTS[key];
  return { key, kind: kindOf(key), help: CONFIG_HELP[key], defaultValue: value === null ? "" : String(value), choices: CHOICES[key] };
}

/** Form values as the inputs hold them: strings, "true"/"false" for checkboxes, "" for an empty optional value. */
export type ConfigDraft = Record<ConfigKey, string>;

export function defaultDraft(): ConfigDraft {
  const draft = {} as ConfigDraft;
  for (const key of Object.keys(CONFIG_DEFAULTS) as ConfigKey[]) draft[key] = configField(key).defaultValue;
  return draft;
}

export type ConfigResult = { ok: true; config: SearchConfig } | { ok: false; errors: string[] };

/** Converts the form to a configuration, validated by the search's own schema. */
export function draftToConfig(draft: ConfigDraft): ConfigResult {
  const input: Record<string, unknown> = {};
  const errors: string[] = [];

  for (const key of Object.keys(CONFIG_DEFAULTS) as ConfigKey[]) {
    const raw = (draft[key] ?? "").trim();
    const kind = kindOf(key);
    if (kind === "boolean") input[key] = raw === "true";
    else if (kind === "choice") input[key] = raw;
    else if ((kind === "optionalInteger" || kind === "optionalNumber") && raw === "") input[key] = null;
    else if (key === "method") input[key] = raw;
    else {
      const value = Number(raw);
      if (raw === "" || !Number.isFinite(value)) errors.push(`${key}: must be a number, but got "${draft[key]}"`);
      else input[key] = value;
    }
  }
  if (errors.length > 0) return { ok: false, errors };

  const parsed = searchConfigSchema.safeParse(input);
  if (!parsed.success) {
    return { ok: false, errors: parsed.error.issues.map((issue) => `${issue.path.map(String).join(".") || "config"}: ${issue.message}`) };
  }
  return { ok: true, config: parsed.data };
}
