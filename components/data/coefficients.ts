// Heatmap of weight coefficients: one row per pool model, one column per expert, where model i's
// weights are Σ_k c_ik·e_k. Colours diverge around 0 (blue negative, white zero, red positive),
// because PSO moves coefficients below 0 and above 1.

export interface HeatmapCell {
  expert: number;
  value: number;
  color: string;
  /** Text colour that stays readable on `color`. */
  textColor: string;
}

export interface HeatmapRow {
  model: string;
  /** False for models with fixed weights (black-box APIs), which have no coefficients. */
  movable: boolean;
  cells: HeatmapCell[];
}

export interface CoefficientHeatmap {
  /** Column headers: expert e_k is the adapter pool model k started with. */
  experts: { label: string; model: string }[];
  rows: HeatmapRow[];
  /** Largest |c| over all cells; the colour scale runs from −maxAbs to +maxAbs. */
  maxAbs: number;
  movableModels: string[];
  fixedModels: string[];
}

const NEGATIVE = [37, 99, 235] as const;
const POSITIVE = [220, 38, 38] as const;

/**
 * Maps a value to a colour on a diverging scale symmetric around 0: −maxAbs is full blue,
 * 0 is white and +maxAbs is full red. Values beyond ±maxAbs are clamped.
 */
export function divergingColor(value: number, maxAbs: number): string {
  const t = maxAbs > 0 ? Math.max(-1, Math.min(1, value / maxAbs)) : 0;
  const target = t < 0 ? NEGATIVE : POSITIVE;
  const weight = Math.abs(t);
  const channel = (i: number) => Math.round(255 + (target[i] - 255) * weight);
  return `rgb(${channel(0)}, ${channel(1)}, ${channel(2)})`;
}

/** Builds the heatmap from every pool model's coefficients (null: fixed weights). */
export function coefficientHeatmap(coefficients: readonly (readonly number[] | null)[], names: readonly string[]): CoefficientHeatmap {
  let maxAbs = 0;
  for (const row of coefficients) for (const value of row ?? []) maxAbs = Math.max(maxAbs, Math.abs(value));
  // A scale of at least 1 keeps the initial one-hot coefficients from looking saturated when
  // nothing has moved yet.
  maxAbs = Math.max(maxAbs, 1);

  const rows = names.map((model, i): HeatmapRow => {
    const values = coefficients[i] ?? null;
    return {
      model,
      movable: values !== null,
      cells: (values ?? []).map((value, expert) => ({
        expert,
        value,
        color: divergingColor(value, maxAbs),
        textColor: Math.abs(value) / maxAbs > 0.6 ? "#ffffff" : "#111827",
      })),
    };
  });

  return {
    experts: names.map((model, k) => ({ label: `e${k}`, model })),
    rows,
    maxAbs,
    movableModels: rows.filter((r) => r.movable).map((r) => r.model),
    fixedModels: rows.filter((r) => !r.movable).map((r) => r.model),
  };
}
