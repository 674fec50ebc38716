// Step 1: choose the template (searchable; preselected from ?template=name).
import { Alert, Badge, Group, Select, Stack, Text } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";

import { api, unwrap } from "../../api/client";
import { ErrorState } from "../../components/PageState";
import type { DeployDefaults } from "./model";
import type { WizardForm } from "./types";

export function TemplateStep({ form, defaults, defaultsError }: {
  form: WizardForm;
  defaults: DeployDefaults | undefined;
  defaultsError: unknown;
}) {
  const templates = useQuery({
    queryKey: ["templates", "wizard-choices"],
    queryFn: () => unwrap(api.GET("/api/v1/templates", { params: { query: { limit: 500, sort: "name" } } })),
  });
  const chosen = form.getValues().template;
  const data = (templates.data?.items ?? []).map((t) => ({ value: t.name, label: t.name }));
  if (chosen && !data.some((option) => option.value === chosen)) data.unshift({ value: chosen, label: chosen });
  const summary = templates.data?.items.find((t) => t.name === chosen);

  return (
    <Stack gap="md">
      {templates.isError && <ErrorState error={templates.error} onRetry={() => void templates.refetch()} />}
      <Select
        label="Template"
        placeholder={templates.isPending ? "Loading templates…" : "Search templates"}
        description="What to build: the template's packages, files and scripts."
        data={data}
        searchable
        nothingFoundMessage="No template matches"
        withAsterisk
        {...form.getInputProps("template")}
        onChange={(value) => form.setFieldValue("template", value ?? "")}
      />
      {summary && (
        <Text size="sm" c="dimmed">
          {summary.description || "No description."} · OS {summary.os_template} · revision {summary.current_revision}
        </Text>
      )}
      {defaultsError != null && chosen && (
        <Alert color="red" title="This template cannot be deployed">
          {String((defaultsError as Error).message ?? defaultsError)}
        </Alert>
      )}
      {defaults && (
        <Group gap="xs" wrap="wrap" aria-label="Template contents">
          <Badge variant="light">{defaults.packages.length} packages</Badge>
          <Badge variant="light">{defaults.scripts.length} scripts</Badge>
          <Badge variant="light">{defaults.inputs.length} inputs</Badge>
          {defaults.services.length > 0 && <Badge variant="light">{defaults.services.length} services</Badge>}
        </Group>
      )}
    </Stack>
  );
}
