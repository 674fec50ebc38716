// Create a user, or change one's role, status, names and password.
import { Modal, PasswordInput, Select, SimpleGrid, Stack, Switch, TextInput } from "@mantine/core";
import { useForm } from "@mantine/form";
import { notifications } from "@mantine/notifications";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useEffect } from "react";

import { api, ApiError, type Schemas, unwrap } from "../../../api/client";
import { FormFooter } from "../../../components/FormFooter";
import { type Role, ROLES } from "./roles";
import { UserOidcLinks } from "./UserOidcLinks";

type User = Schemas["UserOut"];

interface Values {
  username: string;
  display_name: string;
  email: string;
  password: string;
  role: Role;
  is_active: boolean;
}

function initial(user: User | null): Values {
  return {
    username: user?.username ?? "",
    display_name: user?.display_name ?? "",
    email: user?.email ?? "",
    password: "",
    role: user?.role ?? "viewer",
    is_active: user?.is_active ?? true,
  };
}

const orNull = (value: string) => (value.trim() ? value.trim() : null);

export function UserFormModal({ opened, user, onClose }: { opened: boolean; user: User | null; onClose: () => void }) {
  const queryClient = useQueryClient();
  const editing = user !== null;
  const form = useForm<Values>({
    initialValues: initial(null),
    validate: { username: (value) => (editing || value.trim() ? null : "Enter a username") },
  });

  useEffect(() => {
    if (!opened) return;
    form.setValues(initial(user));
    form.clearErrors();
    // eslint-disable-next-line react-hooks/exhaustive-deps -- reset only when the dialog opens
  }, [opened, user]);

  const save = useMutation({
    mutationFn: (values: Values) => {
      if (!editing) {
        return unwrap(
          api.POST("/api/v1/users", {
            body: {
              username: values.username.trim(),
              display_name: orNull(values.display_name),
              email: orNull(values.email),
              password: values.password || null,
              role: values.role,
              is_active: values.is_active,
            },
          }),
        );
      }
      const before = initial(user);
      const body: Schemas["UserUpdate"] = {};
      if (values.display_name.trim() !== before.display_name) body.display_name = orNull(values.display_name);
      if (values.email.trim() !== before.email) body.email = orNull(values.email);
      if (values.role !== before.role) body.role = values.role;
      if (values.is_active !== before.is_active) body.is_active = values.is_active;
      if (values.password) body.password = values.password;
      return unwrap(api.PATCH("/api/v1/users/{user_id}", { params: { path: { user_id: user.id } }, body }));
    },
    onSuccess: (saved) => {
      void queryClient.invalidateQueries({ queryKey: ["users"] });
      notifications.show({ color: "green", message: `User ${saved.username} saved` });
      onClose();
    },
    onError: (error) => {
      if (!(error instanceof ApiError)) return;
      form.setErrors(error.fieldMap());
      if (error.code === "username_taken") form.setFieldError("username", error.message);
    },
  });

  const placed = save.error instanceof ApiError && (save.error.fields.length > 0 || save.error.code === "username_taken");

  return (
    <Modal opened={opened} onClose={onClose} title={editing ? `Edit user ${user.username}` : "New user"} size="lg">
      <Stack gap="lg">
        <form onSubmit={form.onSubmit((values) => save.mutate(values))} noValidate>
          <Stack gap="md">
            {!editing && (
              <TextInput
                label="Username"
                description="Letters, digits and . _ @ -"
                required
                autoComplete="off"
                {...form.getInputProps("username")}
              />
            )}
            <SimpleGrid cols={{ base: 1, sm: 2 }}>
              <TextInput label="Display name" {...form.getInputProps("display_name")} />
              <TextInput label="Email" type="email" {...form.getInputProps("email")} />
            </SimpleGrid>
            <PasswordInput
              label={editing ? "New password" : "Password"}
              description={
                editing
                  ? "Leave blank to keep it; a new password signs the user out everywhere"
                  : "10 to 256 characters, not the username; leave blank for an SSO-only account"
              }
              autoComplete="new-password"
              {...form.getInputProps("password")}
            />
            <Select
              label="Role"
              description={ROLES.find((role) => role.value === form.values.role)?.help}
              data={ROLES.map((role) => ({ value: role.value, label: role.label }))}
              allowDeselect={false}
              {...form.getInputProps("role")}
            />
            <Switch
              label="Active"
              description="Inactive users cannot sign in and their tokens stop working"
              {...form.getInputProps("is_active", { type: "checkbox" })}
            />
            <FormFooter
              error={!placed && save.error}
              errorTitle="Could not save the user"
              onCancel={onClose}
              saveLabel={editing ? "Save user" : "Create user"}
              saving={save.isPending}
            />
          </Stack>
        </form>
        {editing && <UserOidcLinks user={user} />}
      </Stack>
    </Modal>
  );
}
