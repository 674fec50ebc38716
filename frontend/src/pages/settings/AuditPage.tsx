import { PageHeader } from "../../components/PageHeader";

// Placeholder: replaced by the real page.
export default function AuditPage() {
  return <PageHeader title="AuditPage" />;
}
