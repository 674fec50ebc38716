import { PageHeader } from "../../components/PageHeader";

// Placeholder: replaced by the real page.
export default function NodesPage() {
  return <PageHeader title="NodesPage" />;
}
