import { describe, expect, it } from "vitest";
import { CONFIG_DEFAULTS, CONFIG_SECTIONS, configField, defaultDraft, draftToConfig, type ConfigDraft, type ConfigKey } from "../../components/data/run-config";

function configOf(draft: ConfigDraft) {
  const result = draftToConfig(draft);
  if (!result.ok) throw new Error(result.errors.join("; "));
  return result.config;
}

function errorsOf(draft: ConfigDraft): string[] {
  const result = draftToConfig(draft);
  return result.ok ? [] : result.errors;
}

describe("run configuration form", () => {
  it("round-trips the paper defaults", () => {
    const result = draftToConfig(defaultDraft());

    expect(result).toEqual({ ok: true, config: CONFIG_DEFAULTS });
  });

  it("shows every hyperparameter except method and seed in one section", () => {
    const inSections = CONFIG_SECTIONS.flatMap((section) => section.keys).sort();
    const all = (Object.keys(CONFIG_DEFAULTS) as ConfigKey[]).filter((key) => key !== "method" && key !== "seed").sort();

    expect(inSections).toEqual(all);
  });

  it("gives every field one-line help", () => {
    for (const key of Object.keys(CONFIG_DEFAULTS) as ConfigKey[]) {
      expect(configField(key).help.length).toBeGreaterThan(10);
    }
  });

  it("reads an empty optional limit as no limit", () => {
    const config = configOf({ ...defaultDraft(), devLimit: "", budgetCalls: "5000" });

    expect(config.devLimit).toBeNull();
    expect(config.budgetCalls).toBe(5000);
  });

  it("reads checkboxes and choices", () => {
    const config = configOf({ ...defaultDraft(), repelOn: "false", decodeMode: "dag", method: "chain" });

    expect(config.repelOn).toBe(false);
    expect(config.decodeMode).toBe("dag");
    expect(config.method).toBe("chain");
  });

  it("names a field that is not a number", () => {
    expect(draftToConfig({ ...defaultDraft(), inertia: "fast" })).toEqual({ ok: false, errors: ['inertia: must be a number, but got "fast"'] });
  });

  it("applies the search's bounds", () => {
    const errors = errorsOf({ ...defaultDraft(), graphs: "1" });

    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^graphs: /);
  });

  it("rejects a fractional integer", () => {
    expect(errorsOf({ ...defaultDraft(), maxIterations: "2.5" })[0]).toMatch(/^maxIterations: /);
  });
});
