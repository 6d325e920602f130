/**
 * Runs the system on a question typed by the user and shows each node's prompt and output in
 * topological order.
 */
// TODO: needs a `systems.run` API procedure (system id and question in, node traces out). The
// API has none yet, so this section shows a note instead of a form.
export function SystemQuestion({ systemId }: { systemId: string }) {
  return (
    <section className="card" data-testid="system-question" data-system={systemId}>
      <h2>Run on a question</h2>
      <p className="muted">Running a system on a typed question needs the server&apos;s systems.run procedure, which this version does not have yet.</p>
    </section>
  );
}
