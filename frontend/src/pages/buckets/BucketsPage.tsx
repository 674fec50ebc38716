// Package buckets: named lists of Debian packages that templates include.
import { ActionIcon, Badge, Button, Group, Pagination, Stack, Table, Text, TextInput, Tooltip } from "@mantine/core";
import { useDebouncedValue } from "@mantine/hooks";
import { IconPencil, IconPlus, IconSearch, IconTrash } from "@tabler/icons-react";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useState } from "react";

import { api, type Schemas, unwrap } from "../../api/client";
import { useAuth } from "../../auth/AuthContext";
import { PageHeader } from "../../components/PageHeader";
import { EmptyState, ErrorState, LoadingState } from "../../components/PageState";
import { formatDateTime } from "../settings/components/format";
import { BucketFormModal } from "./BucketFormModal";
import { DeleteBucketModal } from "./DeleteBucketModal";

const PAGE_SIZE = 50;
const SHOWN_PACKAGES = 6;

export default function BucketsPage() {
  const { canWrite } = useAuth();
  const [search, setSearch] = useState("");
  const [q] = useDebouncedValue(search.trim(), 250);
  const [page, setPage] = useState(1);
  const [editing, setEditing] = useState<Schemas["BucketOut"] | null>(null);
  const [creating, setCreating] = useState(false);
  const [deleting, setDeleting] = useState<string | null>(null);

  const buckets = useQuery({
    queryKey: ["buckets", "list", q, page],
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/buckets", {
          params: { query: { q: q || undefined, limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE } },
        }),
      ),
    placeholderData: keepPreviousData,
  });

  const pages = buckets.data ? Math.max(1, Math.ceil(buckets.data.total / PAGE_SIZE)) : 1;

  return (
    <>
      <PageHeader
        title="Package buckets"
        description="Named lists of Debian packages; a template installs the buckets it names."
        actions={
          canWrite && (
            <Button leftSection={<IconPlus size={16} aria-hidden />} onClick={() => setCreating(true)}>
              New bucket
            </Button>
          )
        }
      />
      <Stack gap="md">
        <TextInput
          label="Search buckets"
          placeholder="Name or description"
          leftSection={<IconSearch size={16} aria-hidden />}
          value={search}
          onChange={(event) => {
            setSearch(event.currentTarget.value);
            setPage(1);
          }}
          maw={{ base: "100%", sm: 360 }}
        />
        {buckets.isPending ? (
          <LoadingState label="Loading buckets" />
        ) : buckets.isError ? (
          <ErrorState error={buckets.error} onRetry={() => void buckets.refetch()} />
        ) : buckets.data.items.length === 0 ? (
          <EmptyState title={q ? "No bucket matches" : "No buckets yet"}>
            {q ? "Try another search." : canWrite ? "Create one with “New bucket”." : "An operator can create them."}
          </EmptyState>
        ) : (
          <Table.ScrollContainer minWidth={640}>
            <Table striped highlightOnHover verticalSpacing="sm" aria-label="Package buckets">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Name</Table.Th>
                  <Table.Th>Packages</Table.Th>
                  <Table.Th>Origin</Table.Th>
                  <Table.Th>Updated</Table.Th>
                  {canWrite && <Table.Th>Actions</Table.Th>}
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {buckets.data.items.map((bucket) => (
                  <Table.Tr key={bucket.name}>
                    <Table.Td>
                      <Text fw={600} size="sm">
                        {bucket.name}
                      </Text>
                      {bucket.description && (
                        <Text size="xs" c="dimmed" lineClamp={2}>
                          {bucket.description}
                        </Text>
                      )}
                    </Table.Td>
                    <Table.Td>
                      <Group gap={4}>
                        {bucket.packages.slice(0, SHOWN_PACKAGES).map((pkg) => (
                          <Badge key={pkg} variant="light" tt="none" ff="monospace">
                            {pkg}
                          </Badge>
                        ))}
                        {bucket.packages.length > SHOWN_PACKAGES && (
                          <Text size="xs" c="dimmed">
                            +{bucket.packages.length - SHOWN_PACKAGES} more
                          </Text>
                        )}
                        {bucket.packages.length === 0 && (
                          <Text size="xs" c="dimmed">
                            empty
                          </Text>
                        )}
                      </Group>
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm">{bucket.origin}</Text>
                      {bucket.file && (
                        <Text size="xs" c="dimmed" ff="monospace">
                          {bucket.file}
                        </Text>
                      )}
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm" title={bucket.updated_at}>
                        {formatDateTime(bucket.updated_at)}
                      </Text>
                    </Table.Td>
                    {canWrite && (
                      <Table.Td>
                        <Group gap={4} wrap="nowrap">
                          <Tooltip label="Edit">
                            <ActionIcon variant="subtle" aria-label={`Edit bucket ${bucket.name}`} onClick={() => setEditing(bucket)}>
                              <IconPencil size={16} aria-hidden />
                            </ActionIcon>
                          </Tooltip>
                          <Tooltip label="Delete">
                            <ActionIcon
                              variant="subtle"
                              color="red"
                              aria-label={`Delete bucket ${bucket.name}`}
                              onClick={() => setDeleting(bucket.name)}
                            >
                              <IconTrash size={16} aria-hidden />
                            </ActionIcon>
                          </Tooltip>
                        </Group>
                      </Table.Td>
                    )}
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
        {pages > 1 && (
          <Pagination total={pages} value={page} onChange={setPage} aria-label="Bucket pages" />
        )}
      </Stack>
      <BucketFormModal
        opened={creating || editing !== null}
        bucket={editing}
        onClose={() => {
          setCreating(false);
          setEditing(null);
        }}
      />
      <DeleteBucketModal name={deleting} onClose={() => setDeleting(null)} />
    </>
  );
}
