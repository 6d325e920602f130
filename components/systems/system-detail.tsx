"use client";

import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useMemo } from "react";
import { CoefficientHeatmap } from "../coefficient-heatmap";
import { DagView, RoleLegend } from "../dag-view";
import { coefficientHeatmap } from "../data/coefficients";
import { formatUtility } from "../data/format";
import { downloadJson } from "../download";
import { SimulatedBadge } from "../simulated-badge";
import { errorMessage, useTRPC, type RouterOutputs } from "../trpc";
import { SystemQuestion } from "./system-question";

type SystemDefinition = RouterOutputs["systems"]["get"]["definition"];

export function SystemDetail({ id }: { id: string }) {
  const trpc = useTRPC();
  const system = useQuery(trpc.systems.get.queryOptions({ id }));

  if (system.error) return <p className="error">{errorMessage(system.error)}</p>;
  if (!system.data) return <p className="muted">Loading…</p>;
  return <SystemView id={id} name={system.data.name} definition={system.data.definition} />;
}

function SystemView({ id, name, definition }: { id: string; name: string; definition: SystemDefinition }) {
  const positionNames = useMemo(() => definition.assignment.map((model) => definition.models[model]?.name ?? `model ${model}`), [definition]);
  const heatmap = useMemo(
    () =>
      coefficientHeatmap(
        definition.models.map((m) => m.coefficients),
        definition.models.map((m) => m.name),
      ),
    [definition],
  );
  const simulated = definition.models.some((m) => m.backend === "simulated");

  return (
    <div className="stack">
      <div className="page-head">
        <div>
          <p className="muted">
            <Link href="/systems">Systems</Link> /
          </p>
          <h1>
            {name} {simulated && <SimulatedBadge />}
          </h1>
          <p className="muted">
            from run <Link href={`/runs/${definition.source.runId}`}>{definition.source.runId.slice(-8)}</Link> · task {definition.source.task.name} · pool{" "}
            {definition.source.pool.name} · {definition.source.method} · seed {definition.source.seed} · found at step {definition.source.foundAtStep}
          </p>
        </div>
        <button type="button" className="primary" onClick={() => downloadJson(definition, `${name}.json`)}>
          Download JSON
        </button>
      </div>

      <div className="grid grid-3">
        <section className="card">
          <div className="muted">dev utility</div>
          <div className="big-number">{formatUtility(definition.utility.dev)}</div>
        </section>
        <section className="card">
          <div className="muted">test utility</div>
          <div className="big-number">{formatUtility(definition.utility.test)}</div>
        </section>
        <section className="card">
          <div className="muted">metric</div>
          <div className="big-number" style={{ fontSize: 18 }}>
            {definition.metric}
          </div>
        </section>
      </div>

      <section className="card">
        <h2>{definition.kind === "vote" ? "Positions (majority vote)" : "DAG"}</h2>
        <DagView dag={definition.dag} names={positionNames} vote={definition.kind === "vote"} />
        <RoleLegend />
      </section>

      <section className="card">
        <h2>Weight coefficients</h2>
        <CoefficientHeatmap heatmap={heatmap} />
      </section>

      <SystemQuestion systemId={id} vote={definition.kind === "vote"} />
    </div>
  );
}
