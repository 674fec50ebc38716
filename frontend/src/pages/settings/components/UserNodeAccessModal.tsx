// Which nodes one user may use: read from every node's grant list, saved as grants and revocations.
import { Alert, Checkbox, Modal, Stack, Text } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useMutation, useQueries, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useMemo, useState } from "react";

import { api, type Schemas, unwrap } from "../../../api/client";
import { FormFooter } from "../../../components/FormFooter";
import { EmptyState, ErrorState, LoadingState } from "../../../components/PageState";

type User = Schemas["UserOut"];

export const nodeAccessKey = (nodeId: string) => ["nodes", nodeId, "access"];

export function UserNodeAccessModal({ user, onClose }: { user: User | null; onClose: () => void }) {
  const queryClient = useQueryClient();
  const nodes = useQuery({ queryKey: ["nodes"], queryFn: () => unwrap(api.GET("/api/v1/nodes")), enabled: user !== null });
  const access = useQueries({
    queries: (user ? (nodes.data ?? []) : []).map((node) => ({
      queryKey: nodeAccessKey(node.id),
      queryFn: () => unwrap(api.GET("/api/v1/nodes/{node_id}/access", { params: { path: { node_id: node.id } } })),
    })),
  });
  const accessLoading = access.some((query) => query.isPending);
  const accessError = access.find((query) => query.isError)?.error;
  // Node ids the user holds now, according to the server.
  const granted = useMemo(() => {
    const out = new Set<string>();
    if (!user || !nodes.data) return out;
    nodes.data.forEach((node, index) => {
      if (access[index]?.data?.some((grant) => grant.user_id === user.id)) out.add(node.id);
    });
    return out;
  }, [access, nodes.data, user]);
  const grantedKey = [...granted].sort().join(",");

  const [selected, setSelected] = useState<string[]>([]);
  useEffect(() => {
    if (!accessLoading) setSelected(grantedKey ? grantedKey.split(",") : []);
  }, [grantedKey, accessLoading]);

  const save = useMutation({
    mutationFn: async () => {
      if (!user) return;
      const wanted = new Set(selected);
      const calls: Promise<unknown>[] = [];
      for (const node of nodes.data ?? []) {
        const path = { node_id: node.id, user_id: user.id };
        if (wanted.has(node.id) && !granted.has(node.id)) {
          calls.push(unwrap(api.POST("/api/v1/nodes/{node_id}/access/{user_id}", { params: { path } })));
        } else if (!wanted.has(node.id) && granted.has(node.id)) {
          calls.push(unwrap(api.DELETE("/api/v1/nodes/{node_id}/access/{user_id}", { params: { path } })));
        }
      }
      await Promise.all(calls);
    },
    onSettled: () => void queryClient.invalidateQueries({ queryKey: ["nodes"] }),
    onSuccess: () => {
      notifications.show({ color: "green", message: `Node access of ${user?.username} saved` });
      close();
    },
  });

  function close() {
    save.reset();
    onClose();
  }

  return (
    <Modal opened={user !== null} onClose={close} title={user ? `Node access: ${user.username}` : ""}>
      {user && (
        <Stack gap="md">
          {user.role === "admin" ? (
            <Alert color="blue" variant="light">
              Admins can use every node; grants only matter for operators and viewers.
            </Alert>
          ) : (
            <Text size="sm" c="dimmed">
              {user.username} can see and deploy to the checked nodes only.
            </Text>
          )}
          {nodes.isPending || accessLoading ? (
            <LoadingState label="Loading node access" />
          ) : nodes.isError || accessError ? (
            <ErrorState error={nodes.error ?? accessError} />
          ) : nodes.data.length === 0 ? (
            <EmptyState title="No nodes">Add a node first.</EmptyState>
          ) : (
            <Checkbox.Group label="Nodes" value={selected} onChange={setSelected}>
              <Stack gap={6} mt={6}>
                {nodes.data.map((node) => (
                  <Checkbox key={node.id} value={node.id} label={node.name} />
                ))}
              </Stack>
            </Checkbox.Group>
          )}
          <FormFooter
            error={save.error}
            errorTitle="Could not save all changes"
            onCancel={close}
            saveLabel="Save access"
            saving={save.isPending}
            onSave={() => save.mutate()}
            disabled={nodes.isPending || accessLoading}
          />
        </Stack>
      )}
    </Modal>
  );
}
