// Categorical colours for chart lines, distinguishable on white and in greyscale print.

export const SERIES_COLORS = [
  "#2563eb",
  "#dc2626",
  "#16a34a",
  "#9333ea",
  "#ea580c",
  "#0891b2",
  "#be185d",
  "#65a30d",
  "#7c3aed",
  "#b45309",
];

/** Accent colour of the interface, also used for the all-time best line. */
export const ACCENT = "#0f766e";

export function seriesColor(index: number): string {
  return SERIES_COLORS[((index % SERIES_COLORS.length) + SERIES_COLORS.length) % SERIES_COLORS.length];
}
