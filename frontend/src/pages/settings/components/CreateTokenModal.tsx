// Create an API token: name, scopes (a subset of your own) and an expiry.
import { Checkbox, Modal, NumberInput, Select, Stack, TextInput } from "@mantine/core";
import { useForm } from "@mantine/form";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useEffect } from "react";

import { api, ApiError, type Schemas, unwrap } from "../../../api/client";
import { FormFooter } from "../../../components/FormFooter";
import { useAuth } from "../../../auth/AuthContext";

const SCOPE_HELP: Record<Schemas["Scope"], string> = {
  read: "read: browse templates, nodes and deployments",
  write: "write: create and change templates, buckets and deployments",
  admin: "admin: manage nodes, users and the audit log",
};

const EXPIRY = [
  { value: "7", label: "7 days" },
  { value: "30", label: "30 days" },
  { value: "90", label: "90 days" },
  { value: "365", label: "1 year" },
  { value: "custom", label: "Custom number of days" },
  { value: "never", label: "Never" },
];

interface Values {
  name: string;
  scopes: string[];
  expiry: string;
  days: number | string;
}

interface Props {
  opened: boolean;
  onClose: () => void;
  onCreated: (token: Schemas["TokenCreated"]) => void;
}

export function CreateTokenModal({ opened, onClose, onCreated }: Props) {
  const { me } = useAuth();
  const queryClient = useQueryClient();
  const available = me?.scopes ?? ["read"];
  const form = useForm<Values>({
    initialValues: { name: "", scopes: ["read"], expiry: "90", days: 30 },
    validate: {
      name: (value) => (value.trim() ? null : "Give the token a name"),
      scopes: (value) => (value.length ? null : "Pick at least one scope"),
    },
  });

  useEffect(() => {
    if (opened) form.reset();
    // eslint-disable-next-line react-hooks/exhaustive-deps -- reset only when the dialog opens
  }, [opened]);

  const create = useMutation({
    mutationFn: (values: Values) => {
      const days = values.expiry === "never" ? null : values.expiry === "custom" ? Number(values.days) : Number(values.expiry);
      return unwrap(
        api.POST("/api/v1/tokens", {
          body: { name: values.name.trim(), scopes: values.scopes as Schemas["Scope"][], expires_in_days: days },
        }),
      );
    },
    onSuccess: (token) => {
      void queryClient.invalidateQueries({ queryKey: ["tokens"] });
      onCreated(token);
    },
    onError: (error) => {
      if (!(error instanceof ApiError)) return;
      const fields = error.fieldMap();
      form.setErrors({ name: fields.name, scopes: fields.scopes, days: fields.expires_in_days });
    },
  });

  return (
    <Modal opened={opened} onClose={onClose} title="New API token">
      <form onSubmit={form.onSubmit((values) => create.mutate(values))} noValidate>
        <Stack gap="md">
          <TextInput label="Name" description="What the token is for, e.g. CI pipeline" required {...form.getInputProps("name")} />
          <Checkbox.Group label="Scopes" description="At most your own" required {...form.getInputProps("scopes")}>
            <Stack gap={6} mt={6}>
              {available.map((scope) => (
                <Checkbox key={scope} value={scope} label={SCOPE_HELP[scope]} />
              ))}
            </Stack>
          </Checkbox.Group>
          <Select label="Expires" data={EXPIRY} allowDeselect={false} {...form.getInputProps("expiry")} />
          {form.values.expiry === "custom" && (
            <NumberInput label="Days until it expires" min={1} max={3650} {...form.getInputProps("days")} />
          )}
          <FormFooter
            error={!(create.error instanceof ApiError && create.error.fields.length > 0) && create.error}
            errorTitle="Could not create the token"
            onCancel={onClose}
            saveLabel="Create token"
            saving={create.isPending}
          />
        </Stack>
      </form>
    </Modal>
  );
}
