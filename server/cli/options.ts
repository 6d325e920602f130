import { z } from "zod";
import { CONFIG_HELP, searchConfigSchema, type SearchConfig, type SearchConfigInput } from "../core/config";

// Maps every search hyperparameter to a kebab-case flag (`stepLengthFactor` → `--step-length-factor`)
// and parses flag values by the type the configuration schema gives them.

export type ConfigKey = keyof SearchConfig;

export const CONFIG_KEYS = Object.keys(searchConfigSchema.shape) as ConfigKey[];

export function flagOf(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** Parses the hyperparameter flags present in `values` into a partial configuration. */
export function configFromFlags(values: Record<string, string | boolean | undefined>): SearchConfigInput {
  const input: Record<string, unknown> = {};
  for (const key of CONFIG_KEYS) {
    const raw = values[flagOf(key)];
    if (raw === undefined) continue;
    input[key] = parseFlagValue(key, String(raw));
  }
  return input as SearchConfigInput;
}

function parseFlagValue(key: ConfigKey, raw: string): unknown {
  const kind = valueKind(searchConfigSchema.shape[key]);
  const flag = `--${flagOf(key)}`;

  if (kind === "boolean") {
    if (/^(true|1|yes|on)$/i.test(raw)) return true;
    if (/^(false|0|no|off)$/i.test(raw)) return false;
    throw new Error(`${flag} must be true or false, but got "${raw}"`);
  }
  if (kind === "number") {
    if (raw === "" || raw === "none") return null;
    const value = Number(raw);
    if (!Number.isFinite(value)) throw new Error(`${flag} must be a number, but got "${raw}"`);
    return value;
  }
  return raw;
}

function valueKind(schema: z.ZodType): "boolean" | "number" | "string" {
  let inner: z.ZodType = schema;
  // Unwrap .default() and .nullable() to reach the value's own type.
  while (inner instanceof z.ZodDefault || inner instanceof z.ZodNullable) {
    inner = inner.unwrap() as z.ZodType;
  }
  if (inner instanceof z.ZodBoolean) return "boolean";
  if (inner instanceof z.ZodNumber) return "number";
  return "string";
}

/** Help lines for every hyperparameter flag, with its default. */
export function configHelp(): string {
  const defaults = searchConfigSchema.parse({});
  return CONFIG_KEYS.map((key) => {
    const flag = `--${flagOf(key)}`.padEnd(24);
    const fallback = defaults[key] === null ? "none" : String(defaults[key]);
    return `  ${flag}${CONFIG_HELP[key]} (default ${fallback})`;
  }).join("\n");
}

/** Turns a zod validation error into one line per invalid flag. */
export function describeConfigError(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const key = String(issue.path[0] ?? "");
      const where = key ? `--${flagOf(key)}` : "configuration";
      return `${where}: ${issue.message}`;
    })
    .join("\n");
}
