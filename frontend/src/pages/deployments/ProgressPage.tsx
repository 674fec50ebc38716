import { PageHeader } from "../../components/PageHeader";

// Placeholder: replaced by the real page.
export default function ProgressPage() {
  return <PageHeader title="ProgressPage" />;
}
