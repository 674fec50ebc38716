// Cancel (with a confirmation) while a deployment runs; Retry once it failed or was cancelled.
import { Button, Group, Modal, Text } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { IconPlayerStop, IconRefresh } from "@tabler/icons-react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";

import { api, errorMessage, type Schemas, unwrap } from "../../api/client";

type Detail = Schemas["DeploymentDetail"];

export function DeploymentActions({ deployment, onRetried }: { deployment: Detail; onRetried: () => void }) {
  const queryClient = useQueryClient();
  const [confirming, setConfirming] = useState(false);
  const path = { params: { path: { deployment_id: deployment.id } } };
  const settle = (data: Detail) => {
    queryClient.setQueryData(["deployments", deployment.id], data);
    void queryClient.invalidateQueries({ queryKey: ["deployments", "list"] });
  };
  const cancel = useMutation({
    mutationFn: () => unwrap(api.POST("/api/v1/deployments/{deployment_id}/cancel", path)),
    onSuccess: (data) => {
      setConfirming(false);
      settle(data);
      notifications.show({ color: "orange", message: "Cancellation requested" });
    },
    onError: (error) => notifications.show({ color: "red", title: "Could not cancel", message: errorMessage(error) }),
  });
  const retry = useMutation({
    mutationFn: () => unwrap(api.POST("/api/v1/deployments/{deployment_id}/retry", path)),
    onSuccess: (data) => {
      settle(data);
      onRetried();
    },
    onError: (error) => notifications.show({ color: "red", title: "Could not retry", message: errorMessage(error) }),
  });

  const running = deployment.status === "pending" || deployment.status === "running";
  const retryable = deployment.status === "failed" || deployment.status === "cancelled";
  return (
    <Group gap="xs">
      {running && (
        <Button
          color="red"
          variant="light"
          leftSection={<IconPlayerStop size={16} aria-hidden />}
          disabled={deployment.cancel_requested}
          onClick={() => setConfirming(true)}
        >
          {deployment.cancel_requested ? "Cancelling…" : "Cancel deployment"}
        </Button>
      )}
      {retryable && (
        <Button leftSection={<IconRefresh size={16} aria-hidden />} loading={retry.isPending} onClick={() => retry.mutate()}>
          Retry deployment
        </Button>
      )}
      <Modal opened={confirming} onClose={() => setConfirming(false)} title="Cancel this deployment?" centered>
        <Text size="sm" mb="md">
          A running deployment stops at the next step boundary. What was already built is kept or destroyed as the
          deployment's failure policy ({deployment.on_failure}) says.
        </Text>
        <Group justify="flex-end" gap="xs">
          <Button variant="default" onClick={() => setConfirming(false)}>
            Keep running
          </Button>
          <Button color="red" loading={cancel.isPending} onClick={() => cancel.mutate()}>
            Yes, cancel
          </Button>
        </Group>
      </Modal>
    </Group>
  );
}
