// Create or edit a bucket. The server validates package names; its 422 errors land on the fields.
import { Modal, Stack, Textarea, TextInput } from "@mantine/core";
import { useForm } from "@mantine/form";
import { notifications } from "@mantine/notifications";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useEffect } from "react";

import { api, ApiError, type Schemas, unwrap } from "../../api/client";
import { FormFooter } from "../../components/FormFooter";
import { formatPackages, packagesError, parsePackages } from "./packages";

interface Props {
  opened: boolean;
  onClose: () => void;
  /** The bucket to edit; null creates a new one. */
  bucket: Schemas["BucketOut"] | null;
}

interface Values {
  name: string;
  description: string;
  packages: string;
}

export function BucketFormModal({ opened, onClose, bucket }: Props) {
  const queryClient = useQueryClient();
  const editing = bucket !== null;
  const form = useForm<Values>({ initialValues: { name: "", description: "", packages: "" } });

  useEffect(() => {
    if (!opened) return;
    form.setValues({
      name: bucket?.name ?? "",
      description: bucket?.description ?? "",
      packages: formatPackages(bucket?.packages ?? []),
    });
    form.clearErrors();
    // eslint-disable-next-line react-hooks/exhaustive-deps -- reset only when the dialog opens
  }, [opened, bucket]);

  const save = useMutation({
    mutationFn: (values: Values) => {
      const packages = parsePackages(values.packages);
      const description = values.description.trim();
      return editing
        ? unwrap(api.PUT("/api/v1/buckets/{name}", { params: { path: { name: bucket.name } }, body: { description, packages } }))
        : unwrap(api.POST("/api/v1/buckets", { body: { name: values.name.trim(), description, packages } }));
    },
    onSuccess: (saved) => {
      void queryClient.invalidateQueries({ queryKey: ["buckets"] });
      notifications.show({ color: "green", message: `Bucket ${saved.name} saved` });
      onClose();
    },
    onError: (error, values) => {
      if (!(error instanceof ApiError)) return;
      const fields = error.fieldMap();
      const errors: Record<string, string> = {};
      if (fields.name) errors.name = fields.name;
      if (fields.description) errors.description = fields.description;
      const pkg = packagesError(fields, parsePackages(values.packages));
      if (pkg) errors.packages = pkg;
      if (error.code === "bucket_exists") errors.name = error.message;
      form.setErrors(errors);
    },
  });

  const fieldErrorsShown = save.error instanceof ApiError && (save.error.fields.length > 0 || save.error.code === "bucket_exists");

  return (
    <Modal opened={opened} onClose={onClose} title={editing ? `Edit bucket ${bucket.name}` : "New bucket"} size="lg">
      <form onSubmit={form.onSubmit((values) => save.mutate(values))} noValidate>
        <Stack gap="md">
          {!editing && (
            <TextInput
              label="Name"
              description="Lower-case letters, digits and dashes, e.g. web-basics"
              required
              {...form.getInputProps("name")}
            />
          )}
          <TextInput label="Description" {...form.getInputProps("description")} />
          <Textarea
            label="Packages"
            description="One Debian package per line: name, name=1.2-3 (exact version) or name=1.2* (version prefix)"
            rows={8}
            resize="vertical"
            styles={{ input: { fontFamily: "var(--mantine-font-family-monospace)" } }}
            {...form.getInputProps("packages")}
          />
          <FormFooter
            error={!fieldErrorsShown && save.error}
            errorTitle="Could not save the bucket"
            onCancel={onClose}
            saveLabel={editing ? "Save bucket" : "Create bucket"}
            saving={save.isPending}
          />
        </Stack>
      </form>
    </Modal>
  );
}
