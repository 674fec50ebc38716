import { PageHeader } from "../../components/PageHeader";

// Placeholder: replaced by the real page.
export default function BucketsPage() {
  return <PageHeader title="BucketsPage" />;
}
