"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { datasetFormatOf, METRIC_LABELS, METRIC_NAMES, taskNameOf, type MetricName } from "../data/task-form";
import { errorMessage, useTRPC } from "../trpc";

export function TasksPage() {
  const trpc = useTRPC();
  const tasks = useQuery(trpc.tasks.list.queryOptions());

  return (
    <div className="stack">
      <div className="page-head">
        <div>
          <h1>Tasks</h1>
          <p className="muted">A task is a dataset with a dev split (searched on), a test split (reported), prompt templates and a metric.</p>
        </div>
      </div>

      <section className="card">
        <h2>All tasks</h2>
        {tasks.error && <p className="error">{errorMessage(tasks.error)}</p>}
        {tasks.isPending ? (
          <p className="muted">Loading…</p>
        ) : tasks.data?.length === 0 ? (
          <p className="muted">No tasks yet. Upload a dataset below.</p>
        ) : (
          <table data-testid="tasks-table">
            <thead>
              <tr>
                <th>name</th>
                <th>metric</th>
                <th className="num">dev</th>
                <th className="num">test</th>
                <th className="num">runs</th>
                <th>created</th>
              </tr>
            </thead>
            <tbody>
              {tasks.data?.map((task) => (
                <tr key={task.id}>
                  <td>
                    <Link href={`/tasks/${task.id}`}>{task.name}</Link>
                  </td>
                  <td>{task.metric}</td>
                  <td className="num">{task.devCount}</td>
                  <td className="num">{task.testCount}</td>
                  <td className="num">{task.runCount}</td>
                  <td className="muted">{new Date(task.createdAt).toLocaleString()}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      <UploadForm />
    </div>
  );
}

function UploadForm() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const router = useRouter();
  const [file, setFile] = useState<File | null>(null);
  const [name, setName] = useState("");
  const [metric, setMetric] = useState<MetricName | "">("");
  const [problem, setProblem] = useState<string | null>(null);
  const upload = useMutation(
    trpc.tasks.import.mutationOptions({
      onSuccess: async (task) => {
        await queryClient.invalidateQueries({ queryKey: trpc.tasks.pathKey() });
        router.push(`/tasks/${task.id}`);
      },
    }),
  );

  return (
    <section className="card">
      <h2>Upload a dataset</h2>
      <p className="note">
        JSON in the paper&apos;s format (<code>{"{\"dev\": [...], \"test\": [...]}"}</code>), JSONL with a <code>split</code> field, or CSV with a
        header row. Each item has a question and an answer, and optionally choices and a domain.
      </p>
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          setProblem(null);
          if (!file) {
            setProblem("Choose a .json, .jsonl or .csv file first.");
            return;
          }
          const format = datasetFormatOf(file.name);
          if (format === null) {
            setProblem(`The file name must end in .json, .jsonl or .csv, but got "${file.name}".`);
            return;
          }
          const text = await file.text();
          upload.mutate({ name: name.trim() || taskNameOf(file.name), format, text, metric: metric === "" ? undefined : metric });
        }}
      >
        <div className="fields">
          <div className="field">
            <label htmlFor="dataset-file">dataset file</label>
            <input
              id="dataset-file"
              type="file"
              accept=".json,.jsonl,.csv,application/json,text/csv"
              onChange={(e) => {
                const chosen = e.target.files?.[0] ?? null;
                setFile(chosen);
                upload.reset();
                if (chosen && name.trim() === "") setName(taskNameOf(chosen.name));
              }}
            />
          </div>
          <div className="field">
            <label htmlFor="task-name">task name</label>
            <input id="task-name" type="text" value={name} onChange={(e) => setName(e.target.value)} />
          </div>
          <div className="field">
            <label htmlFor="task-metric">metric</label>
            <select id="task-metric" value={metric} onChange={(e) => setMetric(e.target.value as MetricName | "")}>
              <option value="">infer from the items</option>
              {METRIC_NAMES.map((m) => (
                <option key={m} value={m}>
                  {METRIC_LABELS[m]}
                </option>
              ))}
            </select>
          </div>
        </div>
        {problem && <p className="error">{problem}</p>}
        {upload.error && (
          <p className="error" data-testid="upload-error">
            {errorMessage(upload.error)}
          </p>
        )}
        <button className="primary" type="submit" disabled={upload.isPending}>
          {upload.isPending ? "Uploading…" : "Upload"}
        </button>
      </form>
    </section>
  );
}
