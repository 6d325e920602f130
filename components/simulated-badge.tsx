/** Label for anything that runs on the built-in simulated backend, which is a stand-in, not a real model. */
export function SimulatedBadge({ title = "Simulated backend: a stand-in for real models, for demos and tests" }: { title?: string }) {
  return (
    <span className="badge badge-simulated" title={title} data-testid="simulated-badge">
      simulated
    </span>
  );
}

export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge status-${status}`}>{status}</span>;
}
