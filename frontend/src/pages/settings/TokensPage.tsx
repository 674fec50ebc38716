// API tokens for scripts and CI: create (secret shown once), list, revoke.
import { Badge, Button, Code, Group, Pagination, Stack, Switch, Table, Text } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { IconPlus } from "@tabler/icons-react";
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";

import { api, type Schemas, unwrap } from "../../api/client";
import { useAuth } from "../../auth/AuthContext";
import { PageHeader } from "../../components/PageHeader";
import { EmptyState, ErrorState, LoadingState } from "../../components/PageState";
import { ConfirmModal } from "./components/ConfirmModal";
import { CreateTokenModal } from "./components/CreateTokenModal";
import { formatDateTime, formatRelative } from "./components/format";
import { TokenSecretModal } from "./components/TokenSecretModal";

type Token = Schemas["TokenOut"];
const PAGE_SIZE = 50;

function tokenStatus(token: Token): [string, string] {
  if (token.revoked_at) return ["gray", "Revoked"];
  if (token.expires_at && new Date(token.expires_at).getTime() <= Date.now()) return ["orange", "Expired"];
  return ["green", "Active"];
}

export default function TokensPage() {
  const { isAdmin } = useAuth();
  const queryClient = useQueryClient();
  const [includeRevoked, setIncludeRevoked] = useState(false);
  const [everyone, setEveryone] = useState(false);
  const [page, setPage] = useState(1);
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<Schemas["TokenCreated"] | null>(null);
  const [revoking, setRevoking] = useState<Token | null>(null);
  const all = isAdmin && everyone;

  const tokens = useQuery({
    queryKey: ["tokens", { includeRevoked, all, page }],
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/tokens", {
          params: { query: { include_revoked: includeRevoked, all, limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE } },
        }),
      ),
    placeholderData: keepPreviousData,
  });
  // Owner names for the everyone view (admins only).
  const users = useQuery({
    queryKey: ["users", "names"],
    queryFn: () => unwrap(api.GET("/api/v1/users", { params: { query: { limit: 500 } } })),
    enabled: all,
  });
  const owner = (id: string) => users.data?.items.find((user) => user.id === id)?.username ?? id;

  const revoke = useMutation({
    mutationFn: (token: Token) => unwrap(api.DELETE("/api/v1/tokens/{token_id}", { params: { path: { token_id: token.id } } })),
    onSuccess: (_, token) => {
      void queryClient.invalidateQueries({ queryKey: ["tokens"] });
      notifications.show({ color: "green", message: `Token ${token.name} revoked` });
      closeRevoke();
    },
  });
  function closeRevoke() {
    revoke.reset();
    setRevoking(null);
  }

  const pages = tokens.data ? Math.max(1, Math.ceil(tokens.data.total / PAGE_SIZE)) : 1;

  return (
    <>
      <PageHeader
        title="API tokens"
        description="Bearer tokens for scripts and CI. A token never has more rights than its owner."
        actions={
          <Button leftSection={<IconPlus size={16} aria-hidden />} onClick={() => setCreating(true)}>
            New token
          </Button>
        }
      />
      <Stack gap="md">
        <Group gap="lg">
          <Switch
            label="Show revoked tokens"
            checked={includeRevoked}
            onChange={(event) => {
              setIncludeRevoked(event.currentTarget.checked);
              setPage(1);
            }}
          />
          {isAdmin && (
            <Switch
              label="Everyone's tokens"
              checked={everyone}
              onChange={(event) => {
                setEveryone(event.currentTarget.checked);
                setPage(1);
              }}
            />
          )}
        </Group>
        {tokens.isPending ? (
          <LoadingState label="Loading tokens" />
        ) : tokens.isError ? (
          <ErrorState error={tokens.error} onRetry={() => void tokens.refetch()} />
        ) : tokens.data.items.length === 0 ? (
          <EmptyState title="No tokens">Create one with “New token” to use the API from scripts.</EmptyState>
        ) : (
          <Table.ScrollContainer minWidth={720}>
            <Table striped verticalSpacing="sm" aria-label="API tokens">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Name</Table.Th>
                  {all && <Table.Th>Owner</Table.Th>}
                  <Table.Th>Scopes</Table.Th>
                  <Table.Th>Status</Table.Th>
                  <Table.Th>Created</Table.Th>
                  <Table.Th>Expires</Table.Th>
                  <Table.Th>Last used</Table.Th>
                  <Table.Th>Actions</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {tokens.data.items.map((token) => {
                  const [color, status] = tokenStatus(token);
                  return (
                    <Table.Tr key={token.id}>
                      <Table.Td>
                        <Text fw={600} size="sm">
                          {token.name}
                        </Text>
                        <Code>{token.prefix}…</Code>
                      </Table.Td>
                      {all && <Table.Td>{owner(token.user_id)}</Table.Td>}
                      <Table.Td>
                        <Group gap={4}>
                          {token.scopes.map((scope) => (
                            <Badge key={scope} variant="light" size="sm">
                              {scope}
                            </Badge>
                          ))}
                        </Group>
                      </Table.Td>
                      <Table.Td>
                        <Badge color={color} variant="light">
                          {status}
                        </Badge>
                      </Table.Td>
                      <Table.Td>
                        <Text size="sm">{formatDateTime(token.created_at)}</Text>
                      </Table.Td>
                      <Table.Td>
                        <Text size="sm" title={token.expires_at ?? undefined}>
                          {token.expires_at ? formatRelative(token.expires_at) : "Never"}
                        </Text>
                      </Table.Td>
                      <Table.Td>
                        <Text size="sm" title={token.last_used_at ?? undefined}>
                          {token.last_used_at ? formatRelative(token.last_used_at) : "Never"}
                        </Text>
                      </Table.Td>
                      <Table.Td>
                        {!token.revoked_at && (
                          <Button
                            size="xs"
                            variant="subtle"
                            color="red"
                            aria-label={`Revoke token ${token.name}`}
                            onClick={() => setRevoking(token)}
                          >
                            Revoke
                          </Button>
                        )}
                      </Table.Td>
                    </Table.Tr>
                  );
                })}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
        {pages > 1 && <Pagination total={pages} value={page} onChange={setPage} aria-label="Token pages" />}
      </Stack>
      <CreateTokenModal
        opened={creating}
        onClose={() => setCreating(false)}
        onCreated={(token) => {
          setCreating(false);
          setCreated(token);
        }}
      />
      <TokenSecretModal token={created} onClose={() => setCreated(null)} />
      <ConfirmModal
        opened={revoking !== null}
        title="Revoke token"
        confirmLabel="Revoke token"
        onConfirm={() => revoking && revoke.mutate(revoking)}
        onClose={closeRevoke}
        loading={revoke.isPending}
        error={revoke.error}
      >
        Revoke the token <b>{revoking?.name}</b>? Anything using it loses access at once. This cannot be undone.
      </ConfirmModal>
    </>
  );
}
