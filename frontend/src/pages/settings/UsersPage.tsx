import { PageHeader } from "../../components/PageHeader";

// Placeholder: replaced by the real page.
export default function UsersPage() {
  return <PageHeader title="UsersPage" />;
}
