// Package buckets: named lists of Debian packages that templates include.
import { Badge, Group, Stack, Table, Text } from "@mantine/core";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useState } from "react";

import { api, type Schemas, unwrap } from "../../api/client";
import { useAuth } from "../../auth/AuthContext";
import { AddButton } from "../../components/AddButton";
import { DataTable } from "../../components/DataTable";
import { DeleteAction, EditAction } from "../../components/IconAction";
import { ListPagination } from "../../components/ListPagination";
import { PageHeader } from "../../components/PageHeader";
import { EmptyState } from "../../components/PageState";
import { QueryView } from "../../components/QueryView";
import { SearchInput } from "../../components/SearchInput";
import { pageParams } from "../../lib/paging";
import { useFormModal } from "../../lib/useFormModal";
import { useSearchPaging } from "../../lib/useSearchPaging";
import { formatDateTime } from "../settings/components/format";
import { BucketFormModal } from "./BucketFormModal";
import { DeleteBucketModal } from "./DeleteBucketModal";

const SHOWN_PACKAGES = 6;

export default function BucketsPage() {
  const { canWrite } = useAuth();
  const { search, setSearch, debounced: q, page, setPage } = useSearchPaging();
  const form = useFormModal<Schemas["BucketOut"]>();
  const [deleting, setDeleting] = useState<string | null>(null);

  const buckets = useQuery({
    queryKey: ["buckets", "list", q, page],
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/buckets", {
          params: { query: { q: q || undefined, ...pageParams(page) } },
        }),
      ),
    placeholderData: keepPreviousData,
  });

  return (
    <>
      <PageHeader
        title="Package buckets"
        description="Named lists of Debian packages; a template installs the buckets it names."
        actions={canWrite && <AddButton onClick={form.create}>New bucket</AddButton>}
      />
      <Stack gap="md">
        <SearchInput
          label="Search buckets"
          placeholder="Name or description"
          value={search}
          onChange={setSearch}
          maw={{ base: "100%", sm: 360 }}
        />
        <QueryView
          query={buckets}
          loadingLabel="Loading buckets"
          isEmpty={(data) => data.items.length === 0}
          empty={
            <EmptyState title={q ? "No bucket matches" : "No buckets yet"}>
              {q ? "Try another search." : canWrite ? "Create one with “New bucket”." : "An operator can create them."}
            </EmptyState>
          }
        >
          {(data) => (
            <DataTable
              headers={["Name", "Packages", "Origin", "Updated", canWrite && "Actions"]}
              minWidth={640}
              highlightOnHover
              verticalSpacing="sm"
              aria-label="Package buckets"
            >
              {data.items.map((bucket) => (
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
                        <EditAction label={`Edit bucket ${bucket.name}`} onClick={() => form.edit(bucket)} />
                        <DeleteAction label={`Delete bucket ${bucket.name}`} onClick={() => setDeleting(bucket.name)} />
                      </Group>
                    </Table.Td>
                  )}
                </Table.Tr>
              ))}
            </DataTable>
          )}
        </QueryView>
        <ListPagination total={buckets.data?.total} page={page} onChange={setPage} aria-label="Bucket pages" />
      </Stack>
      <BucketFormModal opened={form.opened} bucket={form.editing} onClose={form.close} />
      <DeleteBucketModal name={deleting} onClose={() => setDeleting(null)} />
    </>
  );
}
