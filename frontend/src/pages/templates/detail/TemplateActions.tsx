// Actions on one template: Deploy, Export, and for writers Edit, Clone and Delete.
import { Alert, Button, Group, Modal, Stack, Text, TextInput } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { IconCopy, IconDownload, IconEdit, IconRocket, IconTrash } from "@tabler/icons-react";
import { useState } from "react";
import { Link, useNavigate } from "react-router";

import { ApiError, errorMessage } from "../../../api/client";
import { type TemplateDetail, useCloneTemplate, useDeleteTemplate } from "../api";

function deleteProblem(error: unknown): string {
  if (error instanceof ApiError && error.status === 409) {
    return `The template cannot be deleted: ${error.message}`;
  }
  if (error instanceof ApiError && error.status === 412) {
    return "Someone changed this template meanwhile. Reload the page and try again.";
  }
  return errorMessage(error);
}

function CloneDialog({ template, onClose }: { template: TemplateDetail; onClose: () => void }) {
  const clone = useCloneTemplate(template.name);
  const navigate = useNavigate();
  const [name, setName] = useState(`${template.name}-copy`);
  const fieldError = clone.error instanceof ApiError ? clone.error.fieldMap()["name"] : undefined;
  return (
    <form
      onSubmit={(event) => {
        event.preventDefault();
        clone.mutate(name.trim(), {
          onSuccess: (created) => {
            notifications.show({ color: "green", message: `Cloned as ${created.name}` });
            onClose();
            navigate(`/templates/${created.name}`);
          },
        });
      }}
    >
      <Stack>
        <TextInput
          label="New template name"
          description="Lowercase letters, digits and dashes"
          value={name}
          onChange={(event) => setName(event.currentTarget.value)}
          error={fieldError}
          required
          data-autofocus
        />
        {clone.isError && !fieldError && (
          <Alert color="red" role="alert">
            {errorMessage(clone.error)}
          </Alert>
        )}
        <Group justify="flex-end">
          <Button variant="default" onClick={onClose}>
            Cancel
          </Button>
          <Button type="submit" loading={clone.isPending}>
            Clone
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

function DeleteDialog({ template, onClose }: { template: TemplateDetail; onClose: () => void }) {
  const remove = useDeleteTemplate(template.name);
  const navigate = useNavigate();
  return (
    <Stack>
      <Text size="sm">
        Delete <b>{template.name}</b>? It is archived: its revisions stay for existing deployments, and its folder is
        removed from disk.
      </Text>
      {remove.isError && (
        <Alert color="red" title="Not deleted" role="alert">
          {deleteProblem(remove.error)}
        </Alert>
      )}
      <Group justify="flex-end">
        <Button variant="default" onClick={onClose}>
          Cancel
        </Button>
        <Button
          color="red"
          loading={remove.isPending}
          onClick={() =>
            remove.mutate(template.etag, {
              onSuccess: () => {
                notifications.show({ color: "green", message: `Deleted ${template.name}` });
                onClose();
                navigate("/templates");
              },
            })
          }
        >
          Delete template
        </Button>
      </Group>
    </Stack>
  );
}

export function TemplateActions({ template, canWrite }: { template: TemplateDetail; canWrite: boolean }) {
  const [dialog, setDialog] = useState<"clone" | "delete" | null>(null);
  const close = () => setDialog(null);
  return (
    <>
      <Button
        component={Link}
        to={`/deploy?template=${encodeURIComponent(template.name)}`}
        leftSection={<IconRocket size={16} aria-hidden />}
      >
        Deploy
      </Button>
      {canWrite && (
        <Button
          component={Link}
          to={`/templates/${template.name}/edit`}
          variant="default"
          leftSection={<IconEdit size={16} aria-hidden />}
        >
          Edit
        </Button>
      )}
      {canWrite && (
        <Button variant="default" leftSection={<IconCopy size={16} aria-hidden />} onClick={() => setDialog("clone")}>
          Clone
        </Button>
      )}
      <Button
        component="a"
        href={`/api/v1/templates/${encodeURIComponent(template.name)}/export`}
        download={`${template.name}.tar.gz`}
        variant="default"
        leftSection={<IconDownload size={16} aria-hidden />}
      >
        Export
      </Button>
      {canWrite && (
        <Button
          variant="light"
          color="red"
          leftSection={<IconTrash size={16} aria-hidden />}
          onClick={() => setDialog("delete")}
        >
          Delete
        </Button>
      )}
      <Modal opened={dialog === "clone"} onClose={close} title={`Clone ${template.name}`}>
        {dialog === "clone" && <CloneDialog template={template} onClose={close} />}
      </Modal>
      <Modal opened={dialog === "delete"} onClose={close} title={`Delete ${template.name}`}>
        {dialog === "delete" && <DeleteDialog template={template} onClose={close} />}
      </Modal>
    </>
  );
}
