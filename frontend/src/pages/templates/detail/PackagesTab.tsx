// Packages: what apt installs, resolved from the buckets plus the extra list.
import { Alert, Badge, Group, Stack, Table, Text } from "@mantine/core";

import { DataTable } from "../../../components/DataTable";
import type { TemplateDetail } from "../api";

export function PackagesTab({ template }: { template: TemplateDetail }) {
  return (
    <Stack gap="md">
      <Group gap="xs">
        <Text size="sm">Buckets:</Text>
        {(template.buckets ?? []).length === 0 ? (
          <Text size="sm" c="dimmed">none</Text>
        ) : (
          (template.buckets ?? []).map((bucket) => (
            <Badge key={bucket} variant="light">
              {bucket}
            </Badge>
          ))
        )}
      </Group>
      {template.missing_buckets.length > 0 && (
        <Alert color="orange" title="Missing buckets">
          {template.missing_buckets.join(", ")}
        </Alert>
      )}
      {template.package_conflicts.length > 0 && (
        <Alert color="orange" title="Package conflicts">
          {template.package_conflicts.join("; ")}
        </Alert>
      )}
      {template.packages.length === 0 ? (
        <Text c="dimmed">No packages are installed by this template.</Text>
      ) : (
        <DataTable headers={["Package", "From"]} minWidth={320}>
          {template.packages.map((pkg) => (
            <Table.Tr key={pkg.name}>
              <Table.Td ff="monospace">{pkg.spec}</Table.Td>
              <Table.Td>{pkg.sources.join(", ")}</Table.Td>
            </Table.Tr>
          ))}
        </DataTable>
      )}
    </Stack>
  );
}
