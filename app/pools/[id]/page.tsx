import { PoolDetail } from "../../../components/pools/pool-detail";

export default async function Page({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return <PoolDetail id={id} />;
}
