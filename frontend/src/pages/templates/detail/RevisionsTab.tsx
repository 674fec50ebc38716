// Revisions: the history, and the diff between any two of them.
import { Badge, Group, Select, SimpleGrid, Stack, Table, Text, Title } from "@mantine/core";
import { useState } from "react";

import { DataTable } from "../../../components/DataTable";
import { EmptyState, ErrorState, LoadingState } from "../../../components/PageState";
import { useRevisionDiff, useRevisions } from "../api";
import { DiffView } from "../components/DiffView";

const STATUS_COLOR = { added: "green", removed: "red", modified: "blue" } as const;

function RevisionDiffPanel({ name, from, to }: { name: string; from: number; to: number }) {
  const diff = useRevisionDiff(name, from, to);
  if (from === to) return <Text c="dimmed">Pick two different revisions to compare.</Text>;
  if (diff.isPending) return <LoadingState label="Loading diff" />;
  if (diff.isError) return <ErrorState error={diff.error} onRetry={() => void diff.refetch()} />;
  if (diff.data.files.length === 0) return <Text c="dimmed">No differences.</Text>;
  return (
    <Stack gap="md">
      {diff.data.files.map((file) => (
        <Stack key={file.path} gap={4}>
          <Group gap="xs">
            <Badge color={STATUS_COLOR[file.status]} variant="light">
              {file.status}
            </Badge>
            <Text ff="monospace" size="sm" fw={600} style={{ wordBreak: "break-all" }}>
              {file.path}
            </Text>
          </Group>
          {file.binary ? (
            <Text size="sm" c="dimmed">Binary file changed.</Text>
          ) : (
            <DiffView diff={file.diff} label={`Diff of ${file.path}`} />
          )}
        </Stack>
      ))}
    </Stack>
  );
}

export function RevisionsTab({ name, current }: { name: string; current: number }) {
  const revisions = useRevisions(name);
  const [from, setFrom] = useState<number>(Math.max(1, current - 1));
  const [to, setTo] = useState<number>(current);

  if (revisions.isPending) return <LoadingState label="Loading revisions" />;
  if (revisions.isError) return <ErrorState error={revisions.error} onRetry={() => void revisions.refetch()} />;
  const items = revisions.data.items;
  if (items.length === 0) return <EmptyState title="No revisions" />;
  const options = items.map((rev) => ({ value: String(rev.number), label: `Revision ${rev.number}` }));

  return (
    <Stack gap="lg">
      <DataTable headers={["#", "When", "Author", "Message"]}>
        {items.map((rev) => (
          <Table.Tr key={rev.number}>
            <Table.Td>{rev.number}</Table.Td>
            <Table.Td>{new Date(rev.created_at).toLocaleString()}</Table.Td>
            <Table.Td>{rev.author ?? "—"}</Table.Td>
            <Table.Td>{rev.message ?? ""}</Table.Td>
          </Table.Tr>
        ))}
      </DataTable>
      {items.length < 2 ? (
        <Text c="dimmed">Only one revision so far: nothing to compare.</Text>
      ) : (
        <Stack gap="sm">
          <Title order={3} size="h4">
            Compare revisions
          </Title>
          <SimpleGrid cols={{ base: 1, xs: 2 }} maw={480}>
            <Select
              label="From revision"
              data={options}
              value={String(from)}
              onChange={(v) => v && setFrom(Number(v))}
              allowDeselect={false}
            />
            <Select
              label="To revision"
              data={options}
              value={String(to)}
              onChange={(v) => v && setTo(Number(v))}
              allowDeselect={false}
            />
          </SimpleGrid>
          <RevisionDiffPanel name={name} from={from} to={to} />
        </Stack>
      )}
    </Stack>
  );
}
