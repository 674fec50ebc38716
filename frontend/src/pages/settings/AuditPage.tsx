// The audit log (admin only): who did what, when, from where; newest first.
import { ActionIcon, Badge, Code, Group, Pagination, Select, Stack, Table, Text } from "@mantine/core";
import { useDebouncedValue } from "@mantine/hooks";
import { IconChevronDown, IconChevronRight } from "@tabler/icons-react";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { Fragment, useState } from "react";

import { api, type Schemas, unwrap } from "../../api/client";
import { PageHeader } from "../../components/PageHeader";
import { EmptyState } from "../../components/PageState";
import { QueryView } from "../../components/QueryView";
import { pageCount, pageParams } from "../../lib/paging";
import { AdminOnly } from "./components/AdminOnly";
import { AuditFilters, type AuditFilterValues, NO_FILTERS, toInstant } from "./components/AuditFilters";
import { formatDateTime } from "./components/format";

const OUTCOME_COLOR: Record<string, string> = { success: "green", failure: "red", denied: "orange" };

export default function AuditPage() {
  return (
    <AdminOnly title="Audit log" refusal="Only an admin can read the audit log.">
      <AuditLog />
    </AdminOnly>
  );
}

function AuditLog() {
  const [filters, setFilters] = useState<AuditFilterValues>(NO_FILTERS);
  const [debounced] = useDebouncedValue(filters, 300);
  const [pageSize, setPageSize] = useState("50");
  const [page, setPage] = useState(1);
  const [open, setOpen] = useState<Set<string>>(new Set());
  const limit = Number(pageSize);

  const events = useQuery({
    queryKey: ["audit", debounced, limit, page],
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/audit", {
          params: {
            query: {
              action: debounced.action.trim() || undefined,
              actor_id: debounced.actorId ?? undefined,
              outcome: debounced.outcome ?? undefined,
              since: toInstant(debounced.since),
              until: toInstant(debounced.until),
              ...pageParams(page, limit),
            },
          },
        }),
      ),
    placeholderData: keepPreviousData,
  });
  const pages = pageCount(events.data?.total, limit);
  const toggle = (id: string) =>
    setOpen((current) => {
      const next = new Set(current);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });

  return (
    <>
      <PageHeader title="Audit log" description="Every sign-in, change and denied request, newest first." />
      <Stack gap="md">
        <AuditFilters
          value={filters}
          onChange={(value) => {
            setFilters(value);
            setPage(1);
          }}
        />
        <QueryView
          query={events}
          loadingLabel="Loading the audit log"
          isEmpty={(data) => data.items.length === 0}
          empty={<EmptyState title="No events">Nothing matches these filters.</EmptyState>}
        >
          {(data) => (
            <Table.ScrollContainer minWidth={760}>
              <Table verticalSpacing="xs" aria-label="Audit events">
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th aria-label="Details" />
                    <Table.Th>Time</Table.Th>
                    <Table.Th>Actor</Table.Th>
                    <Table.Th>Action</Table.Th>
                    <Table.Th>Target</Table.Th>
                    <Table.Th>Outcome</Table.Th>
                    <Table.Th>Client IP</Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {data.items.map((event) => (
                    <AuditRow key={event.id} event={event} open={open.has(event.id)} onToggle={() => toggle(event.id)} />
                  ))}
                </Table.Tbody>
              </Table>
            </Table.ScrollContainer>
          )}
        </QueryView>
        {events.data && events.data.total > 0 && (
          <Group justify="space-between" gap="sm">
            <Text size="sm" c="dimmed">
              {events.data.offset + 1}–{events.data.offset + events.data.items.length} of {events.data.total}
            </Text>
            <Group gap="sm">
              <Select
                aria-label="Events per page"
                data={["25", "50", "100", "200"]}
                value={pageSize}
                onChange={(value) => {
                  setPageSize(value ?? "50");
                  setPage(1);
                }}
                allowDeselect={false}
                w={90}
              />
              {pages > 1 && <Pagination total={pages} value={page} onChange={setPage} aria-label="Audit pages" />}
            </Group>
          </Group>
        )}
      </Stack>
    </>
  );
}

function AuditRow({ event, open, onToggle }: { event: Schemas["AuditEventOut"]; open: boolean; onToggle: () => void }) {
  const hasDetails = Object.keys(event.details).length > 0 || event.request_id;
  return (
    <Fragment>
      <Table.Tr>
        <Table.Td>
          {hasDetails && (
            <ActionIcon
              variant="subtle"
              size="sm"
              aria-label={open ? "Hide details" : "Show details"}
              aria-expanded={open}
              onClick={onToggle}
            >
              {open ? <IconChevronDown size={14} aria-hidden /> : <IconChevronRight size={14} aria-hidden />}
            </ActionIcon>
          )}
        </Table.Td>
        <Table.Td>
          <Text size="sm" title={event.at} style={{ whiteSpace: "nowrap" }}>
            {formatDateTime(event.at)}
          </Text>
        </Table.Td>
        <Table.Td>
          <Text size="sm">{event.actor_name ?? event.actor_id ?? "—"}</Text>
        </Table.Td>
        <Table.Td>
          <Code>{event.action}</Code>
        </Table.Td>
        <Table.Td>
          <Text size="sm" style={{ wordBreak: "break-all" }}>
            {event.target_type ? `${event.target_type} ${event.target_id ?? ""}` : "—"}
          </Text>
        </Table.Td>
        <Table.Td>
          <Badge color={OUTCOME_COLOR[event.outcome] ?? "gray"} variant="light">
            {event.outcome}
          </Badge>
        </Table.Td>
        <Table.Td>
          <Text size="sm">{event.client_ip ?? "—"}</Text>
        </Table.Td>
      </Table.Tr>
      {open && (
        <Table.Tr>
          <Table.Td colSpan={7}>
            {event.request_id && (
              <Text size="xs" c="dimmed" mb={4}>
                Request {event.request_id}
              </Text>
            )}
            <Code block>{JSON.stringify(event.details, null, 2)}</Code>
          </Table.Td>
        </Table.Tr>
      )}
    </Fragment>
  );
}
