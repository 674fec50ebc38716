// The templates browser: server-side search, filters, sort and pagination; the filters live in the URL.
import { Button, SimpleGrid, Stack, Text } from "@mantine/core";
import { IconPlus } from "@tabler/icons-react";
import { Link } from "react-router";

import { useAuth } from "../../auth/AuthContext";
import { ListPagination } from "../../components/ListPagination";
import { PageHeader } from "../../components/PageHeader";
import { EmptyState } from "../../components/PageState";
import { QueryView } from "../../components/QueryView";
import { PAGE_SIZE, useTemplateList } from "./api";
import { SyncAction } from "./components/SyncAction";
import { TemplateCard } from "./components/TemplateCard";
import { TemplateFilters } from "./components/TemplateFilters";
import { useTemplateSearch } from "./useTemplateSearch";

export default function TemplatesPage() {
  const { canWrite } = useAuth();
  const { query, setFilter, setPage, clear, filtered } = useTemplateSearch();
  const list = useTemplateList(query);

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
      <QueryView
        query={list}
        loadingLabel="Loading templates"
        isEmpty={(data) => data.items.length === 0}
        empty={
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
        }
      >
        {(data) => (
          <Stack gap="md" style={{ opacity: list.isPlaceholderData ? 0.6 : 1 }} aria-busy={list.isFetching}>
            <Text size="sm" c="dimmed" aria-live="polite">
              {data.total} template{data.total === 1 ? "" : "s"}
            </Text>
            <SimpleGrid cols={{ base: 1, sm: 2, lg: 3 }} spacing="md">
              {data.items.map((template) => (
                <TemplateCard key={template.name} template={template} onTag={(tag) => setFilter("tag", tag)} />
              ))}
            </SimpleGrid>
            <ListPagination
              total={data.total}
              pageSize={PAGE_SIZE}
              page={query.page}
              onChange={setPage}
              getControlProps={(control) => ({ "aria-label": `${control} page` })}
              getItemProps={(page) => ({ "aria-label": `Page ${page}` })}
            />
          </Stack>
        )}
      </QueryView>
    </>
  );
}
