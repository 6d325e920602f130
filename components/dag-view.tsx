"use client";

import { Background, Controls, Handle, MarkerType, Position, ReactFlow, type Edge, type Node, type NodeProps } from "@xyflow/react";
import { memo, useMemo } from "react";
import { layoutDag, type ModelNodeData } from "./data/dag-layout";
import { ROLE_COLORS, ROLE_HELP, ROLE_ORDER } from "./data/roles";
import type { DagShape } from "./data/types";

type ModelNode = Node<ModelNodeData, "model">;

const ModelNodeView = memo(function ModelNodeView({ data }: NodeProps<ModelNode>) {
  return (
    <div className="dag-node" style={{ borderColor: data.color }} data-role={data.role}>
      <Handle type="target" position={Position.Left} />
      <div className="dag-node-model" title={data.model}>
        {data.model}
      </div>
      <div className="dag-node-meta">
        <span className="role-badge" style={{ background: data.color }}>
          {data.role}
        </span>
        <span className="muted">position {data.position}</span>
      </div>
      <Handle type="source" position={Position.Right} />
    </div>
  );
});

const nodeTypes = { model: ModelNodeView };

export interface DagViewProps {
  dag: DagShape;
  /** Model name at each position. */
  names: readonly string[];
  /** Flattened n×n adjacency the DAG was decoded from; sets edge width and opacity. */
  adjacency?: readonly number[] | null;
  /** A majority vote: every position answers alone, so every node is drawn as a source. */
  vote?: boolean;
  height?: number;
}

/** Draws a decoded DAG: model names on nodes, structural roles as colours, edges weighted by A_uv. */
export function DagView({ dag, names, adjacency = null, vote = false, height = 360 }: DagViewProps) {
  const { nodes, edges } = useMemo(() => {
    const roles = vote ? names.map(() => "source" as const) : undefined;
    const laid = layoutDag(dag, { names, adjacency, roles });
    const flowEdges: Edge[] = laid.edges.map((edge) => ({
      ...edge,
      markerEnd: { type: MarkerType.ArrowClosed, width: 16, height: 16 },
      labelStyle: { fontSize: 11 },
      labelBgStyle: { fill: "#ffffff" },
    }));
    return { nodes: laid.nodes as ModelNode[], edges: flowEdges };
  }, [dag, names, adjacency, vote]);

  return (
    <div className="dag-view" style={{ height }} data-testid="dag-view">
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        fitView
        fitViewOptions={{ padding: 0.15 }}
        nodesDraggable={false}
        nodesConnectable={false}
        elementsSelectable={false}
        proOptions={{ hideAttribution: true }}
        minZoom={0.2}
      >
        <Background gap={16} color="#eef0f3" />
        <Controls showInteractive={false} />
      </ReactFlow>
    </div>
  );
}

export function RoleLegend() {
  return (
    <ul className="legend">
      {ROLE_ORDER.map((role) => (
        <li key={role} title={ROLE_HELP[role]}>
          <span className="swatch" style={{ background: ROLE_COLORS[role] }} />
          {role}
        </li>
      ))}
    </ul>
  );
}
