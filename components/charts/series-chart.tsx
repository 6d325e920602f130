"use client";

import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { ACCENT, seriesColor } from "../data/palette";
import type { Series } from "../data/series";

export interface SeriesChartProps {
  series: Series;
  /** Keys drawn as thick solid lines; every other line is thin and faded. */
  emphasised?: readonly string[];
  height?: number;
  yLabel?: string;
  /** Fixed y range, for example [0, 1] for utilities. */
  yDomain?: [number | "auto", number | "auto"];
  empty?: string;
}

function formatTick(value: unknown): string {
  return typeof value === "number" ? value.toFixed(2) : String(value);
}

/** Lines over steps or iterations; the data comes ready from components/data/series. */
export function SeriesChart({ series, emphasised = [], height = 260, yLabel, yDomain = ["auto", "auto"], empty = "No data yet." }: SeriesChartProps) {
  if (series.rows.length === 0) return <p className="muted">{empty}</p>;
  const order = series.lines.map((line) => line.key);

  return (
    <div className="chart" style={{ height }}>
      <ResponsiveContainer width="100%" height="100%">
        <LineChart data={series.rows} margin={{ top: 8, right: 36, bottom: 4, left: 0 }}>
          <CartesianGrid stroke="#e5e7eb" strokeDasharray="3 3" />
          <XAxis dataKey="label" tick={{ fontSize: 12 }} />
          <YAxis
            domain={yDomain}
            tick={{ fontSize: 12 }}
            tickFormatter={formatTick}
            width={48}
            label={yLabel ? { value: yLabel, angle: -90, position: "insideLeft", fontSize: 12 } : undefined}
          />
          <Tooltip formatter={(value) => formatTick(value)} />
          <Legend wrapperStyle={{ fontSize: 12 }} itemSorter={(item) => order.indexOf(String(item.dataKey))} />
          {series.lines.map((line, i) => {
            const strong = emphasised.includes(line.key);
            const color = line.key === "bestDev" ? ACCENT : seriesColor(i);
            return (
              <Line
                key={line.key}
                type="linear"
                dataKey={line.key}
                name={line.name}
                stroke={color}
                strokeWidth={strong ? 2.5 : 1.2}
                strokeOpacity={strong || emphasised.length === 0 ? 1 : 0.55}
                dot={strong ? { r: 3 } : false}
                isAnimationActive={false}
                connectNulls
              />
            );
          })}
        </LineChart>
      </ResponsiveContainer>
    </div>
  );
}
