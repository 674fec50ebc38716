// "Sync from disk": re-reads the templates folder and shows what changed, with each broken template's errors.
import { Alert, Badge, Button, Group, List, Modal, Stack, Text } from "@mantine/core";
import { IconRefresh } from "@tabler/icons-react";
import { useState } from "react";

import { errorMessage } from "../../../api/client";
import { type SyncReport, useSyncTemplates } from "../api";

function Names({ title, names }: { title: string; names: string[] }) {
  if (names.length === 0) return null;
  return (
    <div>
      <Text size="sm" fw={600}>
        {title} ({names.length})
      </Text>
      <Text size="sm" c="dimmed" style={{ wordBreak: "break-word" }}>
        {names.join(", ")}
      </Text>
    </div>
  );
}

export function SyncReportView({ report }: { report: SyncReport }) {
  const nothing =
    report.added.length + report.updated.length + report.archived.length + report.errors.length === 0;
  return (
    <Stack gap="sm">
      <Group gap="xs">
        <Badge color="green" variant="light">{report.added.length} added</Badge>
        <Badge color="blue" variant="light">{report.updated.length} updated</Badge>
        <Badge color="gray" variant="light">{report.unchanged.length} unchanged</Badge>
        <Badge color="orange" variant="light">{report.archived.length} archived</Badge>
        <Badge color="red" variant="light">{report.errors.length} errors</Badge>
      </Group>
      {nothing && <Text size="sm">Everything is already up to date.</Text>}
      <Names title="Added" names={report.added} />
      <Names title="Updated" names={report.updated} />
      <Names title="Archived" names={report.archived} />
      {report.errors.length > 0 && (
        <Alert color="red" title="Broken templates (not imported)">
          <List size="sm" spacing={4}>
            {report.errors.map((problem, index) => (
              <List.Item key={index} style={{ wordBreak: "break-word" }}>
                <Text span ff="monospace" size="sm">
                  {problem.file}
                  {problem.line != null ? `:${problem.line}:${problem.column ?? 1}` : ""}
                </Text>
                {problem.field ? ` [${problem.field}]` : ""}: {problem.message}
              </List.Item>
            ))}
          </List>
        </Alert>
      )}
    </Stack>
  );
}

export function SyncAction() {
  const sync = useSyncTemplates();
  const [open, setOpen] = useState(false);
  return (
    <>
      <Button
        variant="default"
        leftSection={<IconRefresh size={16} aria-hidden />}
        loading={sync.isPending}
        onClick={() => {
          setOpen(true);
          sync.mutate();
        }}
      >
        Sync from disk
      </Button>
      <Modal opened={open} onClose={() => setOpen(false)} title="Sync from disk" size="lg">
        {sync.isPending && <Text size="sm">Reading the templates folder…</Text>}
        {sync.isError && (
          <Alert color="red" title="Sync failed" role="alert">
            {errorMessage(sync.error)}
          </Alert>
        )}
        {sync.data && <SyncReportView report={sync.data} />}
      </Modal>
    </>
  );
}
