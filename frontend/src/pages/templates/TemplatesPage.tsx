import { PageHeader } from "../../components/PageHeader";

// Placeholder: replaced by the real page.
export default function TemplatesPage() {
  return <PageHeader title="TemplatesPage" />;
}
