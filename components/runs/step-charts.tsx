"use client";

import { memo } from "react";
import { Bar, BarChart, CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis, type TooltipContentProps } from "recharts";
import { BUCKET_KEY, type Downsampled, type StepBucket } from "../data/downsample";
import { formatUtility } from "../data/format";
import { ACCENT, seriesColor } from "../data/palette";
import { ROLE_COLORS, ROLE_ORDER, type StepRoleRow } from "../data/roles";
import type { DrawnSeries } from "../data/series";
import type { StructuralRole } from "../data/types";

// The run page's charts over steps. They draw data that may be downsampled (see
// components/data/downsample.ts): a point then stands for several consecutive steps, and its
// tooltip lists those steps with each value's minimum and maximum. Both charts are memoized, so
// a step that leaves a chart's data unchanged does not draw it again. While the steps load they
// draw empty axes: recharts then does its first, costly layout passes during the wait for the
// data instead of after it.

/** Dots are drawn on emphasised lines only up to this many points; beyond, they hide the line. */
const MAX_DOTTED_POINTS = 50;
/** X-axis labels drawn at most; vertical grid lines are drawn only when every point has a label. */
const MAX_X_LABELS = 8;

/**
 * Returns recharts' x-axis interval: the number of labels skipped between two drawn ones. A
 * number, unlike recharts' default "preserveEnd", needs no text measurement of every label,
 * which is slow with 100 labels.
 */
function labelInterval(points: number): number {
  return Math.max(0, Math.ceil(points / MAX_X_LABELS) - 1);
}

/** A bucket's tooltip is taller than the default one, so it may reach below the chart, above the legend. */
const BUCKET_TOOLTIP_WRAPPER = { zIndex: 2 } as const;
const BUCKET_TOOLTIP_ESCAPE = { x: false, y: true } as const;

const tooltipStyle = {
  background: "#ffffff",
  border: "1px solid #d1d5db",
  borderRadius: 4,
  padding: "6px 8px",
  fontSize: 12,
  lineHeight: 1.4,
} as const;

function formatTick(value: unknown): string {
  return typeof value === "number" ? value.toFixed(2) : String(value);
}

interface BucketTooltipProps {
  buckets: readonly StepBucket[];
  format: (value: number) => string;
  /** Explanation of the drawn value, shown under the steps. */
  explanation: string;
}

/** Tooltip of a downsampled point: the steps it combines, then each value with its range. */
function BucketTooltip({ active, payload, buckets, format, explanation }: TooltipContentProps & BucketTooltipProps) {
  if (!active || payload.length === 0) return null;
  const bucket = buckets[Number(payload[0].payload?.[BUCKET_KEY])];
  if (bucket === undefined) return null;

  return (
    <div style={tooltipStyle} data-testid="bucket-tooltip">
      <div>
        <strong>
          {bucket.first} – {bucket.last}
        </strong>{" "}
        ({bucket.count} steps)
      </div>
      <div style={{ color: "#6b7280" }}>{explanation}; in brackets: min to max</div>
      {payload.map((entry) => {
        const value = bucket.values[String(entry.dataKey)];
        if (value === undefined) return null;
        const range = value.min === value.max ? "" : ` (${format(value.min)} to ${format(value.max)})`;
        return (
          <div key={String(entry.dataKey)} style={{ color: entry.color }}>
            {entry.name}: {format(typeof entry.value === "number" ? entry.value : value.mean)}
            {range}
          </div>
        );
      })}
    </div>
  );
}

export interface StepSeriesChartProps {
  series: DrawnSeries;
  /** Keys drawn as thick solid lines; every other line is thin and faded. */
  emphasised?: readonly string[];
  height?: number;
  yLabel?: string;
  empty?: string;
  /** True while the steps load: draws empty axes instead of the `empty` text. */
  loading?: boolean;
}

/** Lines over steps from a series that buildRunDashboard may have downsampled. */
export const StepSeriesChart = memo(function StepSeriesChart({ series, emphasised = [], height = 260, yLabel, empty = "No data yet.", loading = false }: StepSeriesChartProps) {
  if (series.rows.length === 0 && !loading) return <p className="muted">{empty}</p>;
  const order = series.lines.map((line) => line.key);
  const buckets = series.buckets;
  const dotted = series.rows.length <= MAX_DOTTED_POINTS;

  return (
    <div className="chart" style={{ height }} data-points={series.rows.length}>
      <ResponsiveContainer width="100%" height="100%">
        <LineChart data={series.rows} margin={{ top: 8, right: 36, bottom: 4, left: 0 }}>
          <CartesianGrid stroke="#e5e7eb" strokeDasharray="3 3" vertical={series.rows.length <= MAX_X_LABELS} />
          <XAxis dataKey="label" tick={{ fontSize: 12 }} interval={labelInterval(series.rows.length)} />
          <YAxis
            domain={["auto", "auto"]}
            tick={{ fontSize: 12 }}
            tickFormatter={formatTick}
            width={48}
            label={yLabel ? { value: yLabel, angle: -90, position: "insideLeft", fontSize: 12 } : undefined}
          />
          {buckets === null ? (
            <Tooltip formatter={(value) => formatTick(value)} />
          ) : (
            <Tooltip
              wrapperStyle={BUCKET_TOOLTIP_WRAPPER}
              allowEscapeViewBox={BUCKET_TOOLTIP_ESCAPE}
              content={(props) => <BucketTooltip {...props} buckets={buckets} format={(value) => formatUtility(value)} explanation="mean of the steps, running bests their maximum" />}
            />
          )}
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
                dot={strong && dotted ? { r: 3 } : false}
                isAnimationActive={false}
                connectNulls
              />
            );
          })}
        </LineChart>
      </ResponsiveContainer>
    </div>
  );
});

export interface StepRoleBarsProps {
  data: Downsampled<StepRoleRow>;
  height?: number;
  empty?: string;
  /** True while the steps load: draws empty axes instead of the `empty` text. */
  loading?: boolean;
}

/**
 * Stacked role counts per step. For a downsampled run each bar is the mean count per step
 * over the steps it combines. Recharts draws no segment for a zero count, so the tooltip lists
 * every role, zeros included.
 */
export const StepRoleBars = memo(function StepRoleBars({ data, height = 240, empty = "No roles recorded yet.", loading = false }: StepRoleBarsProps) {
  if (data.rows.length === 0 && !loading) return <p className="muted">{empty}</p>;
  const buckets = data.buckets;
  const format = (value: number) => (Number.isInteger(value) ? String(value) : value.toFixed(1));

  return (
    <div className="chart" style={{ height }} data-bars={data.rows.length}>
      <ResponsiveContainer width="100%" height="100%">
        <BarChart data={data.rows} margin={{ top: 8, right: 16, bottom: 4, left: 0 }}>
          <CartesianGrid stroke="#e5e7eb" strokeDasharray="3 3" vertical={false} />
          <XAxis dataKey="label" tick={{ fontSize: 12 }} interval={labelInterval(data.rows.length)} />
          <YAxis tick={{ fontSize: 12 }} width={40} domain={[0, "auto"]} tickFormatter={(value: number) => format(value)} />
          {buckets === null ? (
            <Tooltip formatter={(value) => (typeof value === "number" ? format(value) : String(value))} />
          ) : (
            <Tooltip
              wrapperStyle={BUCKET_TOOLTIP_WRAPPER}
              allowEscapeViewBox={BUCKET_TOOLTIP_ESCAPE}
              content={(props) => <BucketTooltip {...props} buckets={buckets} format={format} explanation="mean count per step" />}
            />
          )}
          <Legend wrapperStyle={{ fontSize: 12 }} itemSorter={(item) => ROLE_ORDER.indexOf(item.dataKey as StructuralRole)} />
          {ROLE_ORDER.map((role) => (
            <Bar key={role} dataKey={role} name={role} stackId="roles" fill={ROLE_COLORS[role]} isAnimationActive={false} />
          ))}
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
});
