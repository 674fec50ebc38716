// Pages only an admin may use: others get the page title and a refusal, and none of the page's queries run.
import { Alert } from "@mantine/core";
import { IconLock } from "@tabler/icons-react";
import type { ReactNode } from "react";

import { useAuth } from "../../../auth/AuthContext";
import { PageHeader } from "../../../components/PageHeader";

export function AdminOnly({ title, refusal, children }: { title: string; refusal: string; children: ReactNode }) {
  const { isAdmin } = useAuth();
  if (isAdmin) return children;
  return (
    <>
      <PageHeader title={title} />
      <Alert color="red" icon={<IconLock aria-hidden />} title="Admins only" role="alert">
        {refusal}
      </Alert>
    </>
  );
}
