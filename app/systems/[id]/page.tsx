import { SystemDetail } from "../../../components/systems/system-detail";

export default async function Page({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return <SystemDetail id={id} />;
}
