import { NewRunForm } from "../../../components/runs/new-run-form";

export default async function Page({ searchParams }: { searchParams: Promise<{ poolId?: string; taskId?: string }> }) {
  const { poolId, taskId } = await searchParams;
  return <NewRunForm initialPoolId={poolId} initialTaskId={taskId} />;
}
