import { PoolsPage } from "../../components/pools/pools-page";

export default function Page() {
  return <PoolsPage />;
}
