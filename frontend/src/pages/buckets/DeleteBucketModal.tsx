// Delete a bucket; while templates use it the server answers 409 and we list those templates.
import { Alert, Anchor, List, Text } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link } from "react-router";

import { api, ApiError, errorMessage, unwrap } from "../../api/client";
import { ConfirmModal } from "../settings/components/ConfirmModal";

export function DeleteBucketModal({ name, onClose }: { name: string | null; onClose: () => void }) {
  const queryClient = useQueryClient();
  const remove = useMutation({
    mutationFn: (bucket: string) => unwrap(api.DELETE("/api/v1/buckets/{name}", { params: { path: { name: bucket } } })),
    onSuccess: (_, bucket) => {
      void queryClient.invalidateQueries({ queryKey: ["buckets"] });
      notifications.show({ color: "green", message: `Bucket ${bucket} deleted` });
      close();
    },
  });
  const inUse = remove.error instanceof ApiError && remove.error.status === 409 && name !== null;
  const users = useQuery({
    queryKey: ["buckets", name, "templates"],
    queryFn: () => unwrap(api.GET("/api/v1/buckets/{name}/templates", { params: { path: { name: name! } } })),
    enabled: inUse,
  });

  function close() {
    remove.reset();
    onClose();
  }

  let errorContent = null;
  if (inUse) {
    errorContent = (
      <Alert color="orange" title="This bucket is in use" role="alert">
        <Text size="sm" mb="xs">
          Remove it from these templates first:
        </Text>
        {users.isPending && <Text size="sm">Loading the templates…</Text>}
        {users.isError && <Text size="sm">{errorMessage(remove.error)}</Text>}
        {users.data && (
          <List size="sm" aria-label="Templates using this bucket">
            {users.data.templates.map((template) => (
              <List.Item key={template}>
                <Anchor component={Link} to={`/templates/${encodeURIComponent(template)}`}>
                  {template}
                </Anchor>
              </List.Item>
            ))}
          </List>
        )}
      </Alert>
    );
  }

  return (
    <ConfirmModal
      opened={name !== null}
      title="Delete bucket"
      confirmLabel="Delete bucket"
      onConfirm={() => name && remove.mutate(name)}
      onClose={close}
      loading={remove.isPending}
      error={remove.error}
      errorContent={errorContent}
    >
      Delete the bucket <b>{name}</b>? Templates can no longer reference it.
    </ConfirmModal>
  );
}
