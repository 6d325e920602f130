// Bar rows of a task's domain histogram.

export interface DomainBar {
  domain: string;
  /** Axis label with the total, "math (12)", so that a zero segment still reads as a count. */
  label: string;
  dev: number;
  test: number;
  total: number;
}

export const NO_DOMAIN = "(no domain)";

export interface DomainCount {
  split: "dev" | "test";
  domain: string | null | undefined;
  /** Items this entry stands for; 1 when absent, so a list of items can be passed as is. */
  count?: number;
}

/**
 * Counts items per domain and split, sorted by total count (descending) and then by name.
 * Items without a domain are counted under NO_DOMAIN.
 */
export function domainHistogram(items: readonly DomainCount[]): DomainBar[] {
  const bars = new Map<string, DomainBar>();
  for (const item of items) {
    const domain = item.domain && item.domain.trim() !== "" ? item.domain : NO_DOMAIN;
    const bar = bars.get(domain) ?? { domain, label: domain, dev: 0, test: 0, total: 0 };
    const count = item.count ?? 1;
    bar[item.split] += count;
    bar.total += count;
    bar.label = `${domain} (${bar.total})`;
    bars.set(domain, bar);
  }
  return [...bars.values()].sort((a, b) => b.total - a.total || a.domain.localeCompare(b.domain));
}
