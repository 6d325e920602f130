import { readFileSync } from "node:fs";
import type { PoolInfo } from "../core/search";
import type { Backend } from "./backend";
import { SIMULATED_PRESETS, SimulatedBackend, type SimulatedPoolSpec } from "./simulated";

export interface LoadedPool {
  info: PoolInfo;
  backend: Backend;
  /** Shown next to results: simulated pools are stand-ins, never real models. */
  label: string;
}

/**
 * Resolves `--pool`: a simulated preset name, or a JSON file describing a simulated pool
 * (`{"name": …, "experts": [{"name", "skills": [...], "trust", "verify", "verbosity"}]}`).
 * `domains` are the task's item domains, which the simulated experts' skill groups cover.
 */
export function loadPool(nameOrPath: string, domains: readonly string[], seed = 0): LoadedPool {
  const preset = SIMULATED_PRESETS[nameOrPath];
  const spec = preset ?? readPoolFile(nameOrPath);
  const backend = new SimulatedBackend(spec, domains, seed);

  return {
    info: {
      names: spec.experts.map((e) => e.name),
      weightCapable: spec.experts.map(() => true),
      bases: spec.experts.map(() => `simulated:${spec.name}`),
    },
    backend,
    label: `simulated pool "${spec.name}" (${spec.description})`,
  };
}

function readPoolFile(path: string): SimulatedPoolSpec {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    const presets = Object.keys(SIMULATED_PRESETS).join(", ");
    throw new Error(`pool "${path}" is neither a preset (${presets}) nor a readable file`);
  }

  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`pool file ${path}: invalid JSON: ${(error as Error).message}`);
  }
  const spec = parsed as Partial<SimulatedPoolSpec>;
  if (typeof spec !== "object" || spec === null || !Array.isArray(spec.experts)) {
    throw new Error(`pool file ${path}: must be an object with an "experts" array`);
  }
  return { name: spec.name ?? path, description: spec.description ?? "custom simulated pool", experts: spec.experts };
}
