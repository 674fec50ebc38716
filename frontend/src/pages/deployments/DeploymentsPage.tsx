import { PageHeader } from "../../components/PageHeader";

// Placeholder: replaced by the real page.
export default function DeploymentsPage() {
  return <PageHeader title="DeploymentsPage" />;
}
