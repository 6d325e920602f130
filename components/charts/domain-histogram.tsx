"use client";

import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { DomainBar } from "../data/histogram";

/** Items per domain, stacked by split; the axis label carries the total. */
export function DomainHistogram({ bars, height = 240 }: { bars: readonly DomainBar[]; height?: number }) {
  if (bars.length === 0) return <p className="muted">No items.</p>;

  return (
    <div className="chart" style={{ height }}>
      <ResponsiveContainer width="100%" height="100%">
        <BarChart data={[...bars]} margin={{ top: 8, right: 8, bottom: 4, left: 0 }}>
          <CartesianGrid stroke="#e5e7eb" strokeDasharray="3 3" vertical={false} />
          <XAxis dataKey="label" tick={{ fontSize: 12 }} interval={0} />
          <YAxis tick={{ fontSize: 12 }} width={40} allowDecimals={false} />
          <Tooltip />
          <Legend wrapperStyle={{ fontSize: 12 }} itemSorter="dataKey" />
          <Bar dataKey="dev" name="dev" stackId="split" fill="#0f766e" isAnimationActive={false} />
          <Bar dataKey="test" name="test" stackId="split" fill="#94a3b8" isAnimationActive={false} />
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}
