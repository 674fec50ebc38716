// API tokens for scripts and CI: create (secret shown once), list, revoke.
import { Badge, Button, Code, Group, Stack, Switch, Table, Text } from "@mantine/core";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useState } from "react";

import { api, type Schemas, unwrap } from "../../api/client";
import { useAuth } from "../../auth/AuthContext";
import { AddButton } from "../../components/AddButton";
import { DataTable } from "../../components/DataTable";
import { ListPagination } from "../../components/ListPagination";
import { PageHeader } from "../../components/PageHeader";
import { EmptyState } from "../../components/PageState";
import { QueryView } from "../../components/QueryView";
import { pageParams } from "../../lib/paging";
import { ConfirmModal } from "./components/ConfirmModal";
import { CreateTokenModal } from "./components/CreateTokenModal";
import { formatDateTime, formatRelative } from "./components/format";
import { TokenSecretModal } from "./components/TokenSecretModal";
import { useConfirmedAction } from "./components/useConfirmedAction";
import { useUserNames } from "./components/useUserNames";

type Token = Schemas["TokenOut"];

function tokenStatus(token: Token): [string, string] {
  if (token.revoked_at) return ["gray", "Revoked"];
  if (token.expires_at && new Date(token.expires_at).getTime() <= Date.now()) return ["orange", "Expired"];
  return ["green", "Active"];
}

export default function TokensPage() {
  const { isAdmin } = useAuth();
  const [includeRevoked, setIncludeRevoked] = useState(false);
  const [everyone, setEveryone] = useState(false);
  const [page, setPage] = useState(1);
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<Schemas["TokenCreated"] | null>(null);
  const all = isAdmin && everyone;

  const tokens = useQuery({
    queryKey: ["tokens", { includeRevoked, all, page }],
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/tokens", {
          params: { query: { include_revoked: includeRevoked, all, ...pageParams(page) } },
        }),
      ),
    placeholderData: keepPreviousData,
  });
  // Owner names for the everyone view (admins only).
  const users = useUserNames(all);
  const owner = (id: string) => users.data?.items.find((user) => user.id === id)?.username ?? id;

  const revoke = useConfirmedAction({
    action: (token: Token) => unwrap(api.DELETE("/api/v1/tokens/{token_id}", { params: { path: { token_id: token.id } } })),
    invalidates: ["tokens"],
    successMessage: (token) => `Token ${token.name} revoked`,
  });

  return (
    <>
      <PageHeader
        title="API tokens"
        description="Bearer tokens for scripts and CI. A token never has more rights than its owner."
        actions={<AddButton onClick={() => setCreating(true)}>New token</AddButton>}
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
        <QueryView
          query={tokens}
          loadingLabel="Loading tokens"
          isEmpty={(data) => data.items.length === 0}
          empty={<EmptyState title="No tokens">Create one with “New token” to use the API from scripts.</EmptyState>}
        >
          {(data) => (
            <DataTable
              headers={["Name", all && "Owner", "Scopes", "Status", "Created", "Expires", "Last used", "Actions"]}
              minWidth={720}
              verticalSpacing="sm"
              aria-label="API tokens"
            >
              {data.items.map((token) => {
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
                          onClick={() => revoke.ask(token)}
                        >
                          Revoke
                        </Button>
                      )}
                    </Table.Td>
                  </Table.Tr>
                );
              })}
            </DataTable>
          )}
        </QueryView>
        <ListPagination total={tokens.data?.total} page={page} onChange={setPage} aria-label="Token pages" />
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
      <ConfirmModal {...revoke.modalProps} title="Revoke token" confirmLabel="Revoke token">
        Revoke the token <b>{revoke.target?.name}</b>? Anything using it loses access at once. This cannot be undone.
      </ConfirmModal>
    </>
  );
}
