// The container's stored credentials: names listed, each value revealed on click (an audited POST), with a
// copy button, and hidden again on demand. Values live only in this component's state, never in the cache.
import { ActionIcon, Alert, Button, Code, CopyButton, Group, Stack, Table, Text, Title, Tooltip } from "@mantine/core";
import { IconCheck, IconCopy, IconEye, IconEyeOff } from "@tabler/icons-react";
import { useMutation, useQuery } from "@tanstack/react-query";
import { useState } from "react";

import { api, errorMessage, unwrap } from "../../api/client";
import { useAuth } from "../../auth/AuthContext";
import { ErrorState, LoadingState } from "../../components/PageState";

export function revealCredential(containerId: string, name: string) {
  return unwrap(
    api.POST("/api/v1/containers/{container_id}/credentials/{name}/reveal", {
      params: { path: { container_id: containerId, name } },
    }),
  );
}

function CredentialRow({ containerId, name, description, canReveal }: {
  containerId: string;
  name: string;
  description: string | null | undefined;
  canReveal: boolean;
}) {
  const [value, setValue] = useState<string | null>(null);
  const reveal = useMutation({
    mutationFn: () => revealCredential(containerId, name),
    onSuccess: (data) => setValue(data.value),
  });
  return (
    <Table.Tr>
      <Table.Td>
        <Text fw={600} size="sm">{name}</Text>
        {description && <Text size="xs" c="dimmed">{description}</Text>}
      </Table.Td>
      <Table.Td>
        {value !== null ? (
          <Group gap="xs" wrap="wrap">
            <Code style={{ wordBreak: "break-all" }} aria-label={`Value of ${name}`}>{value}</Code>
            <CopyButton value={value} timeout={1500}>
              {({ copied, copy }) => (
                <Tooltip label={copied ? "Copied" : "Copy"} withArrow>
                  <ActionIcon variant="subtle" color={copied ? "teal" : "gray"} onClick={copy} aria-label={`Copy ${name}`}>
                    {copied ? <IconCheck size={16} aria-hidden /> : <IconCopy size={16} aria-hidden />}
                  </ActionIcon>
                </Tooltip>
              )}
            </CopyButton>
            <ActionIcon variant="subtle" color="gray" onClick={() => setValue(null)} aria-label={`Hide ${name}`}>
              <IconEyeOff size={16} aria-hidden />
            </ActionIcon>
          </Group>
        ) : canReveal ? (
          <Stack gap={4} align="flex-start">
            <Button
              size="xs"
              variant="light"
              leftSection={<IconEye size={14} aria-hidden />}
              loading={reveal.isPending}
              onClick={() => reveal.mutate()}
              aria-label={`Reveal ${name}`}
            >
              Reveal
            </Button>
            {reveal.isError && <Text size="xs" c="red" role="alert">{errorMessage(reveal.error)}</Text>}
          </Stack>
        ) : (
          <Text size="sm" c="dimmed">••••••••</Text>
        )}
      </Table.Td>
    </Table.Tr>
  );
}

export function CredentialsSection({ containerId }: { containerId: string }) {
  const { canWrite } = useAuth();
  const container = useQuery({
    queryKey: ["containers", containerId],
    queryFn: () => unwrap(api.GET("/api/v1/containers/{container_id}", { params: { path: { container_id: containerId } } })),
  });
  return (
    <Stack gap="xs" component="section" aria-labelledby="credentials-title">
      <Title order={2} size="h4" id="credentials-title">Credentials</Title>
      {container.isPending ? (
        <LoadingState label="Loading credentials" />
      ) : container.isError ? (
        <ErrorState error={container.error} onRetry={() => void container.refetch()} />
      ) : container.data.credentials.length === 0 ? (
        <Text size="sm" c="dimmed">This template captures no credentials.</Text>
      ) : (
        <>
          {!canWrite && (
            <Alert color="gray" variant="light">Revealing a credential needs the operator or admin role.</Alert>
          )}
          <Table.ScrollContainer minWidth={320}>
            <Table aria-label="Credentials" verticalSpacing="xs">
              <Table.Tbody>
                {container.data.credentials.map((credential) => (
                  <CredentialRow
                    key={credential.name}
                    containerId={containerId}
                    name={credential.name}
                    description={credential.description}
                    canReveal={canWrite}
                  />
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
          <Text size="xs" c="dimmed">Each reveal is recorded in the audit log.</Text>
        </>
      )}
    </Stack>
  );
}
