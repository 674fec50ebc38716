// State and mutation behind a ConfirmModal for one destructive row action (delete, revoke):
// remembers the row asked about, refreshes the list and says so on success, clears the error on close.
import { notifications } from "@mantine/notifications";
import { type QueryKey, useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";

export function useConfirmedAction<T>({
  action,
  invalidates,
  successMessage,
}: {
  action: (item: T) => Promise<unknown>;
  invalidates: QueryKey;
  successMessage: (item: T) => string;
}) {
  const queryClient = useQueryClient();
  const [target, setTarget] = useState<T | null>(null);
  const mutation = useMutation({
    mutationFn: action,
    onSuccess: (_, item) => {
      void queryClient.invalidateQueries({ queryKey: invalidates });
      notifications.show({ color: "green", message: successMessage(item) });
      close();
    },
  });
  function close() {
    mutation.reset();
    setTarget(null);
  }
  return {
    target,
    ask: setTarget,
    modalProps: {
      opened: target !== null,
      onConfirm: () => target && mutation.mutate(target),
      onClose: close,
      loading: mutation.isPending,
      error: mutation.error,
    },
  };
}
