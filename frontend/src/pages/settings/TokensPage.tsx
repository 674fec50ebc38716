import { PageHeader } from "../../components/PageHeader";

// Placeholder: replaced by the real page.
export default function TokensPage() {
  return <PageHeader title="TokensPage" />;
}
