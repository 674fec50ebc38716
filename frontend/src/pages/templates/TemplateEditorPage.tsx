import { PageHeader } from "../../components/PageHeader";

// Placeholder: replaced by the real page.
export default function TemplateEditorPage() {
  return <PageHeader title="TemplateEditorPage" />;
}
