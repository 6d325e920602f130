import type { CoefficientHeatmap as Heatmap } from "./data/coefficients";
import { divergingColor } from "./data/coefficients";

/** Weight coefficients, models × experts, on a diverging scale around 0. */
export function CoefficientHeatmap({ heatmap }: { heatmap: Heatmap }) {
  if (heatmap.rows.length === 0) return <p className="muted">No coefficients recorded yet.</p>;

  return (
    <div>
      <table className="heatmap" data-testid="coefficient-heatmap">
        <thead>
          <tr>
            <th>model</th>
            {heatmap.experts.map((expert) => (
              <th key={expert.label} title={`expert adapter of ${expert.model}`}>
                {expert.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {heatmap.rows.map((row) => (
            <tr key={row.model}>
              <th>{row.model}</th>
              {row.movable ? (
                row.cells.map((cell) => (
                  <td key={cell.expert} style={{ background: cell.color, color: cell.textColor }}>
                    {cell.value.toFixed(2)}
                  </td>
                ))
              ) : (
                <td colSpan={heatmap.experts.length} className="muted fixed-weights">
                  fixed weights (black-box model)
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      <div className="scale">
        <span>−{heatmap.maxAbs.toFixed(2)}</span>
        <span
          className="scale-bar"
          style={{
            background: `linear-gradient(to right, ${divergingColor(-1, 1)}, ${divergingColor(0, 1)}, ${divergingColor(1, 1)})`,
          }}
        />
        <span>+{heatmap.maxAbs.toFixed(2)}</span>
      </div>
      <p className="note">
        The weight-step could move:{" "}
        {heatmap.movableModels.length > 0 ? heatmap.movableModels.join(", ") : "no model (every model has fixed weights)"}.
        {heatmap.fixedModels.length > 0 ? ` Fixed weights, still JFK-scored: ${heatmap.fixedModels.join(", ")}.` : ""}
      </p>
    </div>
  );
}
