"use client";

import { useMutation } from "@tanstack/react-query";
import { useState } from "react";
import { SimulatedBadge } from "../simulated-badge";
import { errorMessage, useTRPC, type RouterOutputs } from "../trpc";

type SystemRun = RouterOutputs["systems"]["run"];

/**
 * Runs the system on a question typed by the user and shows each node's prompt and output in
 * the order the nodes ran, then the system's answer.
 */
export function SystemQuestion({ systemId, vote }: { systemId: string; vote: boolean }) {
  const trpc = useTRPC();
  const [question, setQuestion] = useState("");
  const run = useMutation(trpc.systems.run.mutationOptions());

  return (
    <section className="card" data-testid="system-question" data-system={systemId}>
      <h2>Run on a question</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (question.trim() !== "") run.mutate({ id: systemId, question });
        }}
      >
        <div className="field">
          <label htmlFor="system-question-text">question</label>
          <textarea
            id="system-question-text"
            rows={4}
            value={question}
            placeholder="Type a question. The system runs its whole DAG on it, one model call per node."
            onChange={(e) => setQuestion(e.target.value)}
          />
        </div>
        {run.error && <p className="error">{errorMessage(run.error)}</p>}
        <button className="primary" type="submit" disabled={question.trim() === "" || run.isPending}>
          {run.isPending ? "Running…" : "Run"}
        </button>
      </form>
      {run.data && <SystemRunView run={run.data} vote={vote} />}
    </section>
  );
}

function SystemRunView({ run, vote }: { run: SystemRun; vote: boolean }) {
  const { usage } = run;
  return (
    <div data-testid="system-run">
      {run.simulated && (
        <p className="note">
          <SimulatedBadge /> A typed question has no gold answer, so a simulated expert that would solve it replies &quot;[simulated answer]&quot; and
          one that would not replies &quot;I am not sure&quot;.
        </p>
      )}

      <h3>{vote ? "Positions (each answers alone, and the majority answer wins)" : "Nodes in topological order"}</h3>
      <ol className="trace" data-testid="system-run-nodes">
        {run.nodes.map((node, step) => (
          <li key={node.position} data-position={node.position}>
            <h3>
              {step + 1}. position {node.position} · {node.model}
            </h3>
            <p className="muted">
              {node.inputs.length === 0 ? "No previous responses." : `Previous responses from ${node.inputs.map((p) => `position ${p}`).join(", ")}.`}
            </p>
            <div className="muted">prompt</div>
            <pre data-testid="node-prompt">{node.prompt}</pre>
            <div className="muted">output</div>
            <pre data-testid="node-output">{node.output}</pre>
          </li>
        ))}
      </ol>

      <h3>Answer</h3>
      <pre data-testid="system-run-answer">{run.answer}</pre>
      <p className="note">
        {run.nodes.length} model calls: {usage.backendCalls} reached the backend and {usage.cacheHits} came from the generation cache.{" "}
        {usage.promptTokens} prompt and {usage.completionTokens} completion tokens.
      </p>
    </div>
  );
}
