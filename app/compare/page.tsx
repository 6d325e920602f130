import { ComparePage } from "../../components/compare/compare-page";

export default function Page() {
  return <ComparePage />;
}
