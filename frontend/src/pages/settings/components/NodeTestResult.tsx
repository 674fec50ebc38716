// The findings of POST /nodes/{id}/test: every check with its outcome and message, then what is missing.
import { Alert, Badge, Code, Group, List, Paper, Stack, Text, ThemeIcon } from "@mantine/core";
import { IconCheck, IconX } from "@tabler/icons-react";

import type { Schemas } from "../../../api/client";

export function NodeTestResult({ result }: { result: Schemas["NodeTestResult"] }) {
  const failed = result.checks.filter((check) => !check.ok).length;
  return (
    <Stack gap="sm">
      <Alert
        color={result.ok ? "green" : "red"}
        title={result.ok ? "Connection OK" : "Connection failed"}
        icon={result.ok ? <IconCheck aria-hidden /> : <IconX aria-hidden />}
      >
        {result.ok
          ? `All ${result.checks.length} checks passed.`
          : `${failed} of ${result.checks.length} checks failed.`}
        {result.version && (
          <Text size="sm" mt={4}>
            Proxmox VE version: <Code>{result.version}</Code>
          </Text>
        )}
      </Alert>
      <Stack gap="xs" component="ul" aria-label="Connection checks" style={{ listStyle: "none", padding: 0, margin: 0 }}>
        {result.checks.map((check) => (
          <Paper component="li" key={check.name} withBorder p="xs" radius="md" aria-label={`Check ${check.name}: ${check.ok ? "OK" : "failed"}`}>
            <Group gap="sm" wrap="nowrap" align="flex-start">
              <ThemeIcon color={check.ok ? "green" : "red"} variant="light" size="md" radius="xl">
                {check.ok ? <IconCheck size={16} aria-hidden /> : <IconX size={16} aria-hidden />}
              </ThemeIcon>
              <Stack gap={2} style={{ minWidth: 0 }}>
                <Group gap="xs">
                  <Text fw={600} size="sm">
                    {check.name}
                  </Text>
                  <Badge color={check.ok ? "green" : "red"} variant="light" size="sm">
                    {check.ok ? "OK" : "Failed"}
                  </Badge>
                </Group>
                <Text size="sm" c="dimmed" style={{ wordBreak: "break-word" }}>
                  {check.message}
                </Text>
              </Stack>
            </Group>
          </Paper>
        ))}
      </Stack>
      {result.missing_privileges.length > 0 && (
        <Alert color="orange" title="The API token lacks these privileges">
          <List size="sm" aria-label="Missing privileges">
            {result.missing_privileges.map((privilege) => (
              <List.Item key={privilege}>
                <Code>{privilege}</Code>
              </List.Item>
            ))}
          </List>
        </Alert>
      )}
    </Stack>
  );
}
