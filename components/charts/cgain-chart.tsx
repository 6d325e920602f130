"use client";

import { Bar, CartesianGrid, ComposedChart, Legend, Line, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { CGainBar } from "../data/cgain";
import { ACCENT } from "../data/palette";

const LEGEND_ORDER = ["solved", "unsolved", "accuracy", "expected"];

/**
 * Collaborative-gain buckets: items solved and unsolved by the system per k (stacked, left axis)
 * and the system's accuracy against the expected k/n (lines, right axis).
 */
export function CGainChart({ bars, height = 280 }: { bars: readonly CGainBar[]; height?: number }) {
  if (bars.length === 0) return <p className="muted">The collaborative gain is computed when the run finishes.</p>;

  return (
    <div className="chart" style={{ height }}>
      <ResponsiveContainer width="100%" height="100%">
        <ComposedChart data={[...bars]} margin={{ top: 8, right: 8, bottom: 4, left: 0 }}>
          <CartesianGrid stroke="#e5e7eb" strokeDasharray="3 3" vertical={false} />
          <XAxis dataKey="label" tick={{ fontSize: 12 }} />
          <YAxis
            yAxisId="items"
            tick={{ fontSize: 12 }}
            width={48}
            allowDecimals={false}
            label={{ value: "test items", angle: -90, position: "insideLeft", fontSize: 12 }}
          />
          <YAxis
            yAxisId="accuracy"
            orientation="right"
            domain={[0, 1]}
            tick={{ fontSize: 12 }}
            width={48}
            label={{ value: "accuracy", angle: 90, position: "insideRight", fontSize: 12 }}
          />
          <Tooltip />
          <Legend wrapperStyle={{ fontSize: 12 }} itemSorter={(item) => LEGEND_ORDER.indexOf(String(item.dataKey))} />
          <Bar yAxisId="items" dataKey="solved" name="solved by the system" stackId="items" fill="#16a34a" isAnimationActive={false} />
          <Bar yAxisId="items" dataKey="unsolved" name="not solved" stackId="items" fill="#d1d5db" isAnimationActive={false} />
          <Line yAxisId="accuracy" dataKey="accuracy" name="system accuracy" stroke={ACCENT} strokeWidth={2} isAnimationActive={false} />
          <Line yAxisId="accuracy" dataKey="expected" name="expected k/n" stroke="#6b7280" strokeDasharray="5 4" isAnimationActive={false} />
        </ComposedChart>
      </ResponsiveContainer>
    </div>
  );
}
