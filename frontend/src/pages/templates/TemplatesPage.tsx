// The templates browser: server-side search, filters, sort and pagination; the filters live in the URL.
import { Button, Group, Pagination, SimpleGrid, Stack, Text } from "@mantine/core";
import { IconPlus } from "@tabler/icons-react";
import { Link } from "react-router";

import { useAuth } from "../../auth/AuthContext";
import { EmptyState, ErrorState, LoadingState } from "../../components/PageState";
import { PageHeader } from "../../components/PageHeader";
import { PAGE_SIZE, useTemplateList } from "./api";
import { SyncAction } from "./components/SyncAction";
import { TemplateCard } from "./components/TemplateCard";
import { TemplateFilters } from "./components/TemplateFilters";
import { useTemplateSearch } from "./useTemplateSearch";

export default function TemplatesPage() {
  const { canWrite } = useAuth();
  const { query, setFilter, setPage, clear, filtered } = useTemplateSearch();
  const list = useTemplateList(query);
  const pages = list.data ? Math.max(1, Math.ceil(list.data.total / PAGE_SIZE)) : 1;

  return (
    <>
      <PageHeader
        title="Templates"
        description="Blueprints for new containers"
        actions={
          canWrite && (
            <>
              <SyncAction />
              <Button component={Link} to="/templates/new" leftSection={<IconPlus size={16} aria-hidden />}>
                New template
              </Button>
            </>
          )
        }
      />
      <TemplateFilters query={query} setFilter={setFilter} filtered={filtered} clear={clear} />
      {list.isPending ? (
        <LoadingState label="Loading templates" />
      ) : list.isError ? (
        <ErrorState error={list.error} onRetry={() => void list.refetch()} />
      ) : list.data.items.length === 0 ? (
        filtered ? (
          <EmptyState title="No templates match">
            Try other words or{" "}
            <Button variant="subtle" size="compact-sm" onClick={clear}>
              clear the filters
            </Button>
          </EmptyState>
        ) : (
          <EmptyState title="No templates yet">
            {canWrite ? "Create one with “New template” or sync the templates folder from disk." : "Ask an operator to add one."}
          </EmptyState>
        )
      ) : (
        <Stack gap="md" style={{ opacity: list.isPlaceholderData ? 0.6 : 1 }} aria-busy={list.isFetching}>
          <Text size="sm" c="dimmed" aria-live="polite">
            {list.data.total} template{list.data.total === 1 ? "" : "s"}
          </Text>
          <SimpleGrid cols={{ base: 1, sm: 2, lg: 3 }} spacing="md">
            {list.data.items.map((template) => (
              <TemplateCard key={template.name} template={template} onTag={(tag) => setFilter("tag", tag)} />
            ))}
          </SimpleGrid>
          {pages > 1 && (
            <Group justify="center">
              <Pagination
                total={pages}
                value={Math.min(query.page, pages)}
                onChange={setPage}
                getControlProps={(control) => ({ "aria-label": `${control} page` })}
                getItemProps={(page) => ({ "aria-label": `Page ${page}` })}
              />
            </Group>
          )}
        </Stack>
      )}
    </>
  );
}
