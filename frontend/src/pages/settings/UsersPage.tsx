// Users, roles and node access (admin only).
import { Badge, Group, Select, Stack, Table, Text } from "@mantine/core";
import { IconServer } from "@tabler/icons-react";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useState } from "react";

import { api, type Schemas, unwrap } from "../../api/client";
import { useAuth } from "../../auth/AuthContext";
import { AddButton } from "../../components/AddButton";
import { DataTable } from "../../components/DataTable";
import { DeleteAction, EditAction, IconAction } from "../../components/IconAction";
import { ListPagination } from "../../components/ListPagination";
import { PageHeader } from "../../components/PageHeader";
import { EmptyState } from "../../components/PageState";
import { QueryView } from "../../components/QueryView";
import { SearchInput } from "../../components/SearchInput";
import { pageParams } from "../../lib/paging";
import { useFormModal } from "../../lib/useFormModal";
import { useSearchPaging } from "../../lib/useSearchPaging";
import { AdminOnly } from "./components/AdminOnly";
import { ConfirmModal } from "./components/ConfirmModal";
import { formatDateTime } from "./components/format";
import { type Role, ROLE_COLOR, ROLES } from "./components/roles";
import { RolesHelp } from "./components/RolesHelp";
import { UserFormModal } from "./components/UserFormModal";
import { UserNodeAccessModal } from "./components/UserNodeAccessModal";
import { useConfirmedAction } from "./components/useConfirmedAction";

type User = Schemas["UserOut"];

export default function UsersPage() {
  return (
    <AdminOnly title="Users and access" refusal="Only an admin can manage users, roles and node access.">
      <UsersAdmin />
    </AdminOnly>
  );
}

function UsersAdmin() {
  const { me } = useAuth();
  const { search, setSearch, debounced, page, setPage } = useSearchPaging();
  const [role, setRole] = useState<Role | null>(null);
  const form = useFormModal<User>();
  const [accessFor, setAccessFor] = useState<User | null>(null);

  const users = useQuery({
    queryKey: ["users", "list", debounced, role, page],
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/users", {
          params: { query: { search: debounced || undefined, role: role ?? undefined, ...pageParams(page) } },
        }),
      ),
    placeholderData: keepPreviousData,
  });
  const remove = useConfirmedAction({
    action: (user: User) => unwrap(api.DELETE("/api/v1/users/{user_id}", { params: { path: { user_id: user.id } } })),
    invalidates: ["users"],
    successMessage: (user) => `User ${user.username} deleted`,
  });

  return (
    <>
      <PageHeader
        title="Users and access"
        description="Who can sign in, what their role allows, and which nodes they may use."
        actions={<AddButton onClick={form.create}>New user</AddButton>}
      />
      <Stack gap="md">
        <RolesHelp />
        <Group gap="sm" align="flex-end" wrap="wrap">
          <SearchInput
            label="Search users"
            placeholder="Username, name or email"
            value={search}
            onChange={setSearch}
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
        <QueryView
          query={users}
          loadingLabel="Loading users"
          isEmpty={(data) => data.items.length === 0}
          empty={<EmptyState title="No user matches">Try another search or role.</EmptyState>}
        >
          {(data) => (
            <DataTable
              headers={["User", "Role", "Status", "Sign-in", "Last login", "Actions"]}
              minWidth={720}
              verticalSpacing="sm"
              aria-label="Users"
            >
              {data.items.map((user) => (
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
                      <EditAction label={`Edit user ${user.username}`} onClick={() => form.edit(user)} />
                      <IconAction
                        tooltip="Node access"
                        label={`Node access for ${user.username}`}
                        icon={IconServer}
                        onClick={() => setAccessFor(user)}
                      />
                      <DeleteAction
                        label={`Delete user ${user.username}`}
                        onClick={() => remove.ask(user)}
                        disabled={user.id === me?.user.id}
                      />
                    </Group>
                  </Table.Td>
                </Table.Tr>
              ))}
            </DataTable>
          )}
        </QueryView>
        <ListPagination total={users.data?.total} page={page} onChange={setPage} aria-label="User pages" />
      </Stack>
      <UserFormModal opened={form.opened} user={form.editing} onClose={form.close} />
      <UserNodeAccessModal user={accessFor} onClose={() => setAccessFor(null)} />
      <ConfirmModal {...remove.modalProps} title="Delete user" confirmLabel="Delete user">
        Delete the user <b>{remove.target?.username}</b>? If they still own templates or deployments the server refuses;
        disable the account instead.
      </ConfirmModal>
    </>
  );
}
