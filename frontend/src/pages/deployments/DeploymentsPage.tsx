// /deployments — every deployment the caller can see, newest first, with status and a link to its progress.
import { Anchor, Badge, Button, Select, Stack, Table, Text } from "@mantine/core";
import { IconPlus } from "@tabler/icons-react";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Link } from "react-router";

import { api, unwrap } from "../../api/client";
import { useAuth } from "../../auth/AuthContext";
import { DataTable } from "../../components/DataTable";
import { ListPagination } from "../../components/ListPagination";
import { PageHeader } from "../../components/PageHeader";
import { EmptyState } from "../../components/PageState";
import { QueryView } from "../../components/QueryView";
import { pageParams } from "../../lib/paging";
import { formatWhen, statusColor, TERMINAL } from "./format";

type StatusFilter = "pending" | "running" | "succeeded" | "failed" | "cancelled";
const STATUS_OPTIONS: { value: StatusFilter; label: string }[] = [
  { value: "running", label: "Running" },
  { value: "pending", label: "Pending" },
  { value: "succeeded", label: "Succeeded" },
  { value: "failed", label: "Failed" },
  { value: "cancelled", label: "Cancelled" },
];

export default function DeploymentsPage() {
  const { canWrite } = useAuth();
  const [page, setPage] = useState(1);
  const [status, setStatus] = useState<StatusFilter | null>(null);

  const list = useQuery({
    queryKey: ["deployments", "list", status, page],
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/deployments", {
          params: { query: { status: status ?? undefined, ...pageParams(page) } },
        }),
      ),
    placeholderData: keepPreviousData,
    // Keep running deployments' badges fresh without a stream per row.
    refetchInterval: (query) => (query.state.data?.items.some((d) => !TERMINAL.has(d.status)) ? 5000 : false),
  });

  return (
    <>
      <PageHeader
        title="Deployments"
        description="Containers being built or built from templates, newest first."
        actions={
          canWrite && (
            <Button component={Link} to="/deploy" leftSection={<IconPlus size={16} aria-hidden />}>
              New deployment
            </Button>
          )
        }
      />
      <Stack gap="md">
        <Select
          label="Status"
          placeholder="Any status"
          data={STATUS_OPTIONS}
          value={status}
          onChange={(value) => {
            setStatus(value as StatusFilter | null);
            setPage(1);
          }}
          clearable
          maw={{ base: "100%", sm: 240 }}
        />
        <QueryView
          query={list}
          loadingLabel="Loading deployments"
          isEmpty={(data) => data.items.length === 0}
          empty={
            <EmptyState title={status ? "No deployment with this status" : "No deployments yet"}>
              {canWrite ? "Start one from a template with “New deployment”." : "An operator can start one."}
            </EmptyState>
          }
        >
          {(data) => (
            <>
              <DataTable
                headers={["Status", "Hostname", "Template", "Node", "VMID", "Created"]}
                minWidth={720}
                highlightOnHover
                verticalSpacing="sm"
                aria-label="Deployments"
              >
                {data.items.map((d) => (
                  <Table.Tr key={d.id}>
                    <Table.Td>
                      <Badge color={statusColor(d.status)} variant="light">{d.status}</Badge>
                      {d.status === "running" && <Text size="xs" c="dimmed">{d.phase}</Text>}
                    </Table.Td>
                    <Table.Td>
                      <Anchor component={Link} to={`/deployments/${d.id}`} aria-label={`Open deployment ${d.hostname ?? d.id}`}>
                        {d.hostname ?? d.id.slice(0, 8)}
                      </Anchor>
                    </Table.Td>
                    <Table.Td>
                      {d.template_name} <Text span size="xs" c="dimmed">rev {d.template_revision}</Text>
                    </Table.Td>
                    <Table.Td>{d.node_name}</Table.Td>
                    <Table.Td>{d.vmid ?? "—"}</Table.Td>
                    <Table.Td>
                      <Text size="sm">{formatWhen(d.created_at)}</Text>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </DataTable>
              <ListPagination total={data.total} page={page} onChange={setPage} aria-label="Deployment pages" />
            </>
          )}
        </QueryView>
      </Stack>
    </>
  );
}
