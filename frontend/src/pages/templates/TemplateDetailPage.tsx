// One template: tabs for its config, scripts, packages, files and revision history.
import { Badge, Group, Tabs, Text } from "@mantine/core";
import { useParams, useSearchParams } from "react-router";

import { useAuth } from "../../auth/AuthContext";
import { ErrorState, LoadingState } from "../../components/PageState";
import { PageHeader } from "../../components/PageHeader";
import { useTemplate } from "./api";
import { ConfigTab } from "./detail/ConfigTab";
import { FilesTab } from "./detail/FilesTab";
import { PackagesTab } from "./detail/PackagesTab";
import { RevisionsTab } from "./detail/RevisionsTab";
import { ScriptsTab } from "./detail/ScriptsTab";
import { TemplateActions } from "./detail/TemplateActions";

const TABS = ["config", "scripts", "packages", "files", "revisions"] as const;

export default function TemplateDetailPage() {
  const { name = "" } = useParams();
  const { canWrite } = useAuth();
  const template = useTemplate(name);
  const [params, setParams] = useSearchParams();
  const tab = (TABS as readonly string[]).includes(params.get("tab") ?? "") ? params.get("tab")! : "config";

  if (template.isPending) return <LoadingState label="Loading template" />;
  if (template.isError) {
    return (
      <>
        <PageHeader title={name} />
        <ErrorState error={template.error} onRetry={() => void template.refetch()} />
      </>
    );
  }
  const detail = template.data;
  return (
    <>
      <PageHeader
        title={detail.name}
        description={detail.description || undefined}
        actions={<TemplateActions template={detail} canWrite={canWrite} />}
      />
      <Group gap="xs" mb="md">
        <Badge variant="light">revision {detail.current_revision}</Badge>
        <Badge variant="light" color="gray">
          {detail.origin}
        </Badge>
        {detail.status === "archived" && <Badge color="orange">archived</Badge>}
        {!detail.writable && (
          <Badge color="yellow" variant="light">
            read-only folder
          </Badge>
        )}
        {detail.tags.map((tag) => (
          <Badge key={tag} variant="outline">
            {tag}
          </Badge>
        ))}
      </Group>
      {detail.revision_message && (
        <Text size="sm" c="dimmed" mb="md">
          Last change: {detail.revision_message}
          {detail.revision_author ? ` — ${detail.revision_author}` : ""}
        </Text>
      )}
      <Tabs
        value={tab}
        onChange={(value) =>
          setParams(
            (prev) => {
              const next = new URLSearchParams(prev);
              next.set("tab", value ?? "config");
              return next;
            },
            { replace: true },
          )
        }
        keepMounted={false}
      >
        <Tabs.List mb="md" style={{ overflowX: "auto", flexWrap: "nowrap" }}>
          <Tabs.Tab value="config">Config</Tabs.Tab>
          <Tabs.Tab value="scripts">Scripts</Tabs.Tab>
          <Tabs.Tab value="packages">Packages</Tabs.Tab>
          <Tabs.Tab value="files">Files</Tabs.Tab>
          <Tabs.Tab value="revisions">Revisions</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="config">
          <ConfigTab template={detail} />
        </Tabs.Panel>
        <Tabs.Panel value="scripts">
          <ScriptsTab template={detail} />
        </Tabs.Panel>
        <Tabs.Panel value="packages">
          <PackagesTab template={detail} />
        </Tabs.Panel>
        <Tabs.Panel value="files">
          <FilesTab template={detail} />
        </Tabs.Panel>
        <Tabs.Panel value="revisions">
          <RevisionsTab name={detail.name} current={detail.current_revision} />
        </Tabs.Panel>
      </Tabs>
    </>
  );
}
