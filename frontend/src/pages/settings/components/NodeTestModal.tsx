// "Test connection": runs the node checks when opened and shows their findings.
import { Button, Group, Modal, Stack } from "@mantine/core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef } from "react";

import { api, type Schemas, unwrap } from "../../../api/client";
import { ErrorState, LoadingState } from "../../../components/PageState";
import { NodeTestResult } from "./NodeTestResult";

export function NodeTestModal({ node, onClose }: { node: Schemas["NodeOut"] | null; onClose: () => void }) {
  const queryClient = useQueryClient();
  const test = useMutation({
    mutationFn: (nodeId: string) => unwrap(api.POST("/api/v1/nodes/{node_id}/test", { params: { path: { node_id: nodeId } } })),
    // The list shows the last test's outcome.
    onSettled: () => void queryClient.invalidateQueries({ queryKey: ["nodes"] }),
  });
  const { mutate, reset } = test;
  // Run once per opening (StrictMode re-runs effects in development).
  const startedFor = useRef<string | null>(null);

  useEffect(() => {
    if (node && startedFor.current !== node.id) {
      startedFor.current = node.id;
      mutate(node.id);
    } else if (!node) {
      startedFor.current = null;
      reset();
    }
  }, [node, mutate, reset]);

  return (
    <Modal opened={node !== null} onClose={onClose} title={node ? `Connection test: ${node.name}` : ""} size="lg">
      <Stack gap="md">
        {test.isPending && <LoadingState label="Testing the connection" />}
        {test.isError && <ErrorState error={test.error} onRetry={() => node && mutate(node.id)} />}
        {test.data && <NodeTestResult result={test.data} />}
        <Group justify="flex-end" gap="xs">
          <Button variant="default" onClick={() => node && mutate(node.id)} disabled={test.isPending}>
            Run again
          </Button>
          <Button onClick={onClose}>Close</Button>
        </Group>
      </Stack>
    </Modal>
  );
}
