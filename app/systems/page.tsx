import { SystemsPage } from "../../components/systems/systems-page";

export default function Page() {
  return <SystemsPage />;
}
