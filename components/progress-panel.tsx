import { formatDuration, formatPercent } from "./data/format";
import type { Progress } from "./data/progress";

/** Progress of a run: bar over expected calls, iteration, cache hit rate, elapsed time and ETA. */
export function ProgressPanel({ progress, status }: { progress: Progress; status: string }) {
  return (
    <div className="progress-panel" data-testid="progress">
      <div
        className="progress-bar"
        role="progressbar"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={Math.round(progress.fraction * 100)}
      >
        <div className={`progress-fill status-${status}`} style={{ width: `${progress.fraction * 100}%` }} />
      </div>
      <dl className="stats">
        <div>
          <dt>iteration</dt>
          <dd>{progress.iterationText}</dd>
        </div>
        <div>
          <dt>backend calls</dt>
          <dd>{progress.callsText}</dd>
        </div>
        <div>
          <dt>cache hit rate</dt>
          <dd>{formatPercent(progress.cacheHitRate)}</dd>
        </div>
        <div>
          <dt>elapsed</dt>
          <dd>{formatDuration(progress.elapsedSeconds)}</dd>
        </div>
        <div>
          <dt>ETA</dt>
          <dd title="estimate from the call rate so far; cache hits usually end the run earlier">{formatDuration(progress.etaSeconds)}</dd>
        </div>
      </dl>
    </div>
  );
}
