// Who may use one node: the grant list of a node, replaced as a whole (PUT /nodes/{id}/access).
import { Modal, MultiSelect, Stack, Text } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";

import { api, type Schemas, unwrap } from "../../../api/client";
import { FormFooter } from "../../../components/FormFooter";
import { ErrorState, LoadingState } from "../../../components/PageState";
import { nodeAccessKey } from "./UserNodeAccessModal";
import { useUserNames } from "./useUserNames";

export function NodeAccessModal({ node, onClose }: { node: Schemas["NodeOut"] | null; onClose: () => void }) {
  const queryClient = useQueryClient();
  const access = useQuery({
    queryKey: nodeAccessKey(node?.id ?? ""),
    queryFn: () => unwrap(api.GET("/api/v1/nodes/{node_id}/access", { params: { path: { node_id: node!.id } } })),
    enabled: node !== null,
  });
  const users = useUserNames(node !== null);
  const [selected, setSelected] = useState<string[]>([]);
  const grantedKey = (access.data ?? []).map((grant) => grant.user_id).join(",");
  useEffect(() => {
    setSelected(grantedKey ? grantedKey.split(",") : []);
  }, [grantedKey, node]);

  const save = useMutation({
    mutationFn: () =>
      unwrap(api.PUT("/api/v1/nodes/{node_id}/access", { params: { path: { node_id: node!.id } }, body: { user_ids: selected } })),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ["nodes"] });
      notifications.show({ color: "green", message: `Access to ${node?.name} saved` });
      close();
    },
  });
  function close() {
    save.reset();
    onClose();
  }

  // Admins see every node anyway; offer the others, plus anyone already granted.
  const options = (users.data?.items ?? [])
    .filter((user) => user.role !== "admin" || selected.includes(user.id))
    .map((user) => ({ value: user.id, label: `${user.username} (${user.role})` }));

  return (
    <Modal opened={node !== null} onClose={close} title={node ? `Access to ${node.name}` : ""}>
      <Stack gap="md">
        <Text size="sm" c="dimmed">
          Operators and viewers see and deploy to a node only when granted here. Admins can use every node.
        </Text>
        {access.isPending || users.isPending ? (
          <LoadingState label="Loading access" />
        ) : access.isError || users.isError ? (
          <ErrorState error={access.error ?? users.error} />
        ) : (
          <MultiSelect
            label="Users with access"
            placeholder={selected.length ? undefined : "Nobody yet"}
            data={options}
            value={selected}
            onChange={setSelected}
            searchable
            clearable
          />
        )}
        <FormFooter
          error={save.error}
          errorTitle="Could not save the access list"
          onCancel={close}
          saveLabel="Save access"
          saving={save.isPending}
          onSave={() => save.mutate()}
          disabled={access.isPending || users.isPending}
        />
      </Stack>
    </Modal>
  );
}
