import type { PoolModel } from "../../generated/prisma/client";

// Output shapes shared by routers. Dates are ISO strings and BigInts numbers, because the API
// sends plain JSON (no transformer), so the types match what an HTTP client receives.

export interface ModelView {
  id: string;
  poolId: string;
  index: number;
  name: string;
  backend: PoolModel["backend"];
  endpoint: string | null;
  modelName: string;
  generationSettings: { temperature: number; maxTokens: number; topP: number };
  /** Whether an API key is stored. The key itself never leaves the server. */
  hasApiKey: boolean;
  baseModel: string | null;
  adapterPath: string | null;
  simulatedPreset: string | null;
  simulatedParams: unknown;
  weightCapable: boolean;
}

export function toModelView(row: PoolModel): ModelView {
  return {
    id: row.id,
    poolId: row.poolId,
    index: row.index,
    name: row.name,
    backend: row.backend,
    endpoint: row.endpoint,
    modelName: row.modelName,
    generationSettings: row.generationSettings as ModelView["generationSettings"],
    hasApiKey: row.apiKey !== null && row.apiKey !== "",
    baseModel: row.baseModel,
    adapterPath: row.adapterPath,
    simulatedPreset: row.simulatedPreset,
    simulatedParams: row.simulatedParams,
    weightCapable: row.weightCapable,
  };
}

export function isoDate(date: Date): string;
export function isoDate(date: Date | null): string | null;
export function isoDate(date: Date | null): string | null {
  return date === null ? null : date.toISOString();
}
