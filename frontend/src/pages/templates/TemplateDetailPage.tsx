import { PageHeader } from "../../components/PageHeader";

// Placeholder: replaced by the real page.
export default function TemplateDetailPage() {
  return <PageHeader title="TemplateDetailPage" />;
}
