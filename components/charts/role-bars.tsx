"use client";

import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { ROLE_COLORS, ROLE_ORDER, type RoleRow } from "../data/roles";
import type { StructuralRole } from "../data/types";

export interface RoleBarsProps {
  rows: readonly RoleRow[];
  /** Segments are shares of each bar (0..1) instead of counts. */
  share?: boolean;
  height?: number;
  empty?: string;
}

/**
 * Stacked bars of structural roles. Recharts draws no segment for a zero count, so the tooltip
 * lists every role, zeros included.
 */
export function RoleBars({ rows, share = false, height = 240, empty = "No roles recorded yet." }: RoleBarsProps) {
  if (rows.length === 0) return <p className="muted">{empty}</p>;
  const format = (value: unknown): string => {
    if (typeof value !== "number") return String(value);
    return share ? `${Math.round(value * 100)}%` : String(value);
  };

  // Beyond six bars the model names no longer fit side by side, so they are drawn at an angle.
  const slanted = rows.length > 6;

  return (
    <div className="chart" style={{ height: slanted ? height + 40 : height }}>
      <ResponsiveContainer width="100%" height="100%">
        <BarChart data={[...rows]} margin={{ top: 8, right: 16, bottom: 4, left: 0 }}>
          <CartesianGrid stroke="#e5e7eb" strokeDasharray="3 3" vertical={false} />
          <XAxis
            dataKey="label"
            tick={{ fontSize: 12 }}
            interval={0}
            angle={slanted ? -35 : 0}
            textAnchor={slanted ? "end" : "middle"}
            height={slanted ? 64 : 30}
          />
          <YAxis tick={{ fontSize: 12 }} width={40} domain={share ? [0, 1] : [0, "auto"]} tickFormatter={format} />
          <Tooltip formatter={(value) => format(value)} />
          <Legend wrapperStyle={{ fontSize: 12 }} itemSorter={(item) => ROLE_ORDER.indexOf(item.dataKey as StructuralRole)} />
          {ROLE_ORDER.map((role) => (
            <Bar key={role} dataKey={role} name={role} stackId="roles" fill={ROLE_COLORS[role]} isAnimationActive={false} />
          ))}
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}
