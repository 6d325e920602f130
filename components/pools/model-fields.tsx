"use client";

import { useQuery } from "@tanstack/react-query";
import { ADAPTER_PATH_HELP, BACKEND_FIELDS, BACKEND_KINDS, BACKEND_LABELS, WEIGHT_MIXING_NOTES, type BackendKind, type ModelDraft } from "../data/model-form";
import { useTRPC } from "../trpc";

export interface ModelFieldsProps {
  draft: ModelDraft;
  onChange: (draft: ModelDraft) => void;
  /** Whether the stored model has an API key; the key itself never reaches the browser. */
  hasStoredKey: boolean;
  idPrefix: string;
}

/** Inputs of one pool model; which ones show depends on the backend kind. */
export function ModelFields({ draft, onChange, hasStoredKey, idPrefix }: ModelFieldsProps) {
  const trpc = useTRPC();
  const presets = useQuery({ ...trpc.pools.presets.queryOptions(), enabled: draft.backend === "simulated" });
  const uses = new Set(BACKEND_FIELDS[draft.backend]);
  const set = <K extends keyof ModelDraft>(key: K, value: ModelDraft[K]) => onChange({ ...draft, [key]: value });
  const id = (field: string) => `${idPrefix}-${field}`;
  const preset = presets.data?.find((p) => p.name === draft.simulatedPreset);

  return (
    <div className="fields">
      <div className="field">
        <label htmlFor={id("name")}>name</label>
        <input id={id("name")} type="text" value={draft.name} onChange={(e) => set("name", e.target.value)} />
      </div>
      <div className="field">
        <label htmlFor={id("backend")}>backend</label>
        <select
          id={id("backend")}
          value={draft.backend}
          onChange={(e) => {
            const backend = e.target.value as BackendKind;
            onChange({ ...draft, backend, weightCapable: backend !== "openai" });
          }}
        >
          {BACKEND_KINDS.map((kind) => (
            <option key={kind} value={kind}>
              {BACKEND_LABELS[kind]}
            </option>
          ))}
        </select>
      </div>

      {uses.has("simulatedPreset") && (
        <div className="field">
          <label htmlFor={id("preset")}>preset</label>
          <select id={id("preset")} value={draft.simulatedPreset} onChange={(e) => set("simulatedPreset", e.target.value)}>
            <option value="">choose…</option>
            {presets.data?.map((p) => (
              <option key={p.name} value={p.name}>
                {p.name}
              </option>
            ))}
          </select>
        </div>
      )}

      <div className="field">
        <label htmlFor={id("model-name")}>{draft.backend === "simulated" ? "expert" : "model name"}</label>
        {draft.backend === "simulated" && preset ? (
          <select id={id("model-name")} value={draft.modelName} onChange={(e) => set("modelName", e.target.value)}>
            <option value="">choose…</option>
            {preset.models.map((model) => (
              <option key={model} value={model}>
                {model}
              </option>
            ))}
          </select>
        ) : (
          <input id={id("model-name")} type="text" value={draft.modelName} onChange={(e) => set("modelName", e.target.value)} />
        )}
        {draft.backend !== "simulated" && <div className="help">the name the server knows the model by</div>}
      </div>

      {uses.has("endpoint") && (
        <div className="field">
          <label htmlFor={id("endpoint")}>endpoint</label>
          <input
            id={id("endpoint")}
            type="url"
            value={draft.endpoint}
            placeholder="http://127.0.0.1:8000/v1"
            onChange={(e) => set("endpoint", e.target.value)}
          />
        </div>
      )}

      {uses.has("apiKey") && (
        <div className="field">
          <label htmlFor={id("api-key")}>
            API key <span className={`badge ${hasStoredKey ? "status-completed" : ""}`}>{hasStoredKey ? "set" : "not set"}</span>
          </label>
          <input
            id={id("api-key")}
            type="password"
            autoComplete="off"
            value={draft.apiKey}
            placeholder={hasStoredKey ? "leave empty to keep the stored key" : "optional"}
            disabled={draft.removeApiKey}
            onChange={(e) => set("apiKey", e.target.value)}
          />
          {hasStoredKey && (
            <label className="checkbox">
              <input type="checkbox" checked={draft.removeApiKey} onChange={(e) => set("removeApiKey", e.target.checked)} /> remove the stored key
            </label>
          )}
        </div>
      )}

      {uses.has("baseModel") && (
        <div className="field">
          <label htmlFor={id("base-model")}>base model</label>
          <input id={id("base-model")} type="text" value={draft.baseModel} onChange={(e) => set("baseModel", e.target.value)} />
          <div className="help">models share an expert basis only with the same base model</div>
        </div>
      )}

      {uses.has("adapterPath") && (
        <div className="field">
          <label htmlFor={id("adapter-path")}>adapter path</label>
          <input id={id("adapter-path")} type="text" value={draft.adapterPath} onChange={(e) => set("adapterPath", e.target.value)} />
          <div className="help">{ADAPTER_PATH_HELP[draft.backend]}</div>
          {WEIGHT_MIXING_NOTES[draft.backend] && <div className="help">weight-step: {WEIGHT_MIXING_NOTES[draft.backend]}</div>}
        </div>
      )}

      <div className="field">
        <label htmlFor={id("temperature")}>temperature</label>
        <input id={id("temperature")} type="number" step="0.1" min="0" max="2" value={draft.temperature} onChange={(e) => set("temperature", e.target.value)} />
      </div>
      <div className="field">
        <label htmlFor={id("max-tokens")}>max tokens</label>
        <input id={id("max-tokens")} type="number" min="1" value={draft.maxTokens} onChange={(e) => set("maxTokens", e.target.value)} />
      </div>
      <div className="field">
        <label htmlFor={id("top-p")}>top-p</label>
        <input id={id("top-p")} type="number" step="0.05" min="0" max="1" value={draft.topP} onChange={(e) => set("topP", e.target.value)} />
      </div>

      {uses.has("weightCapable") && (
        <div className="field">
          <label className="checkbox">
            <input type="checkbox" checked={draft.weightCapable} onChange={(e) => set("weightCapable", e.target.checked)} /> weight-step may change
            this model&apos;s weights
          </label>
        </div>
      )}
    </div>
  );
}
