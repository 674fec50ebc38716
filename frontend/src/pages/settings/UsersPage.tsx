// Users, roles and node access (admin only).
import { ActionIcon, Alert, Badge, Button, Group, Pagination, Select, Stack, Table, Text, TextInput, Tooltip } from "@mantine/core";
import { useDebouncedValue } from "@mantine/hooks";
import { notifications } from "@mantine/notifications";
import { IconLock, IconPencil, IconPlus, IconSearch, IconServer, IconTrash } from "@tabler/icons-react";
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";

import { api, type Schemas, unwrap } from "../../api/client";
import { useAuth } from "../../auth/AuthContext";
import { PageHeader } from "../../components/PageHeader";
import { EmptyState, ErrorState, LoadingState } from "../../components/PageState";
import { ConfirmModal } from "./components/ConfirmModal";
import { formatDateTime } from "./components/format";
import { type Role, ROLE_COLOR, ROLES } from "./components/roles";
import { RolesHelp } from "./components/RolesHelp";
import { UserFormModal } from "./components/UserFormModal";
import { UserNodeAccessModal } from "./components/UserNodeAccessModal";

type User = Schemas["UserOut"];
const PAGE_SIZE = 50;

export default function UsersPage() {
  const { isAdmin } = useAuth();
  if (!isAdmin) {
    return (
      <>
        <PageHeader title="Users and access" />
        <Alert color="red" icon={<IconLock aria-hidden />} title="Admins only" role="alert">
          Only an admin can manage users, roles and node access.
        </Alert>
      </>
    );
  }
  return <UsersAdmin />;
}

function UsersAdmin() {
  const { me } = useAuth();
  const queryClient = useQueryClient();
  const [search, setSearch] = useState("");
  const [debounced] = useDebouncedValue(search.trim(), 250);
  const [role, setRole] = useState<Role | null>(null);
  const [page, setPage] = useState(1);
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<User | null>(null);
  const [accessFor, setAccessFor] = useState<User | null>(null);
  const [deleting, setDeleting] = useState<User | null>(null);

  const users = useQuery({
    queryKey: ["users", "list", debounced, role, page],
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/users", {
          params: {
            query: { search: debounced || undefined, role: role ?? undefined, limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE },
          },
        }),
      ),
    placeholderData: keepPreviousData,
  });
  const remove = useMutation({
    mutationFn: (user: User) => unwrap(api.DELETE("/api/v1/users/{user_id}", { params: { path: { user_id: user.id } } })),
    onSuccess: (_, user) => {
      void queryClient.invalidateQueries({ queryKey: ["users"] });
      notifications.show({ color: "green", message: `User ${user.username} deleted` });
      closeDelete();
    },
  });
  function closeDelete() {
    remove.reset();
    setDeleting(null);
  }
  const pages = users.data ? Math.max(1, Math.ceil(users.data.total / PAGE_SIZE)) : 1;

  return (
    <>
      <PageHeader
        title="Users and access"
        description="Who can sign in, what their role allows, and which nodes they may use."
        actions={
          <Button leftSection={<IconPlus size={16} aria-hidden />} onClick={() => setCreating(true)}>
            New user
          </Button>
        }
      />
      <Stack gap="md">
        <RolesHelp />
        <Group gap="sm" align="flex-end" wrap="wrap">
          <TextInput
            label="Search users"
            placeholder="Username, name or email"
            leftSection={<IconSearch size={16} aria-hidden />}
            value={search}
            onChange={(event) => {
              setSearch(event.currentTarget.value);
              setPage(1);
            }}
            style={{ flex: "1 1 200px" }}
            maw={{ base: "100%", sm: 360 }}
          />
          <Select
            label="Role filter"
            placeholder="All roles"
            clearable
            data={ROLES.map((item) => ({ value: item.value, label: item.label }))}
            value={role}
            onChange={(value) => {
              setRole(value as Role | null);
              setPage(1);
            }}
            style={{ flex: "0 1 180px" }}
          />
        </Group>
        {users.isPending ? (
          <LoadingState label="Loading users" />
        ) : users.isError ? (
          <ErrorState error={users.error} onRetry={() => void users.refetch()} />
        ) : users.data.items.length === 0 ? (
          <EmptyState title="No user matches">Try another search or role.</EmptyState>
        ) : (
          <Table.ScrollContainer minWidth={720}>
            <Table striped verticalSpacing="sm" aria-label="Users">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>User</Table.Th>
                  <Table.Th>Role</Table.Th>
                  <Table.Th>Status</Table.Th>
                  <Table.Th>Sign-in</Table.Th>
                  <Table.Th>Last login</Table.Th>
                  <Table.Th>Actions</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {users.data.items.map((user) => (
                  <Table.Tr key={user.id}>
                    <Table.Td>
                      <Text fw={600} size="sm">
                        {user.username}
                        {user.id === me?.user.id && (
                          <Text span size="xs" c="dimmed">
                            {" "}
                            (you)
                          </Text>
                        )}
                      </Text>
                      {(user.display_name || user.email) && (
                        <Text size="xs" c="dimmed">
                          {[user.display_name, user.email].filter(Boolean).join(" · ")}
                        </Text>
                      )}
                    </Table.Td>
                    <Table.Td>
                      <Badge color={ROLE_COLOR[user.role]} variant="light">
                        {user.role}
                      </Badge>
                    </Table.Td>
                    <Table.Td>
                      <Badge color={user.is_active ? "green" : "gray"} variant="light">
                        {user.is_active ? "Active" : "Disabled"}
                      </Badge>
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm">{user.has_password ? "Password" : "SSO only"}</Text>
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm">{formatDateTime(user.last_login_at, "Never")}</Text>
                    </Table.Td>
                    <Table.Td>
                      <Group gap={4} wrap="nowrap">
                        <Tooltip label="Edit">
                          <ActionIcon variant="subtle" aria-label={`Edit user ${user.username}`} onClick={() => setEditing(user)}>
                            <IconPencil size={16} aria-hidden />
                          </ActionIcon>
                        </Tooltip>
                        <Tooltip label="Node access">
                          <ActionIcon
                            variant="subtle"
                            aria-label={`Node access for ${user.username}`}
                            onClick={() => setAccessFor(user)}
                          >
                            <IconServer size={16} aria-hidden />
                          </ActionIcon>
                        </Tooltip>
                        <Tooltip label="Delete">
                          <ActionIcon
                            variant="subtle"
                            color="red"
                            aria-label={`Delete user ${user.username}`}
                            onClick={() => setDeleting(user)}
                            disabled={user.id === me?.user.id}
                          >
                            <IconTrash size={16} aria-hidden />
                          </ActionIcon>
                        </Tooltip>
                      </Group>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
        {pages > 1 && <Pagination total={pages} value={page} onChange={setPage} aria-label="User pages" />}
      </Stack>
      <UserFormModal
        opened={creating || editing !== null}
        user={editing}
        onClose={() => {
          setCreating(false);
          setEditing(null);
        }}
      />
      <UserNodeAccessModal user={accessFor} onClose={() => setAccessFor(null)} />
      <ConfirmModal
        opened={deleting !== null}
        title="Delete user"
        confirmLabel="Delete user"
        onConfirm={() => deleting && remove.mutate(deleting)}
        onClose={closeDelete}
        loading={remove.isPending}
        error={remove.error}
      >
        Delete the user <b>{deleting?.username}</b>? If they still own templates or deployments the server refuses;
        disable the account instead.
      </ConfirmModal>
    </>
  );
}
