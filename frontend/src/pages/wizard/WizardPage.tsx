import { PageHeader } from "../../components/PageHeader";

// Placeholder: replaced by the real page.
export default function WizardPage() {
  return <PageHeader title="WizardPage" />;
}
