// Names and helpers of the task pages.

export const METRIC_NAMES = ["multiple_choice", "exact_match", "exact_match_reference", "abstain", "judge"] as const;
export type MetricName = (typeof METRIC_NAMES)[number];

export const METRIC_LABELS: Record<MetricName, string> = {
  multiple_choice: "multiple choice (accuracy)",
  exact_match: "exact match of the final answer",
  exact_match_reference: "exact match, the paper's substring rule",
  abstain: "effective reliability (may abstain)",
  judge: "judge model score",
};

export type DatasetFormat = "json" | "jsonl" | "csv";

/** Format of a dataset file from its extension, or null for any other file. */
export function datasetFormatOf(fileName: string): DatasetFormat | null {
  const match = /\.(json|jsonl|csv)$/i.exec(fileName.trim());
  return match ? (match[1].toLowerCase() as DatasetFormat) : null;
}

/** Default task name: the file name without folder and extension. */
export function taskNameOf(fileName: string): string {
  const base = fileName.split(/[\\/]/).pop() ?? fileName;
  return base.replace(/\.(json|jsonl|csv)$/i, "");
}
