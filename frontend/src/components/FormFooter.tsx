// The end of a dialog form: the save error no field shows, then Cancel and the save button.
// Without onSave the save button submits the surrounding <form>.
import { Alert, Button, Group } from "@mantine/core";

import { errorMessage } from "../api/client";

export function FormFooter({
  error,
  errorTitle,
  onCancel,
  saveLabel,
  saving,
  onSave,
  disabled,
}: {
  error: unknown; // falsy: no alert
  errorTitle: string;
  onCancel: () => void;
  saveLabel: string;
  saving: boolean;
  onSave?: () => void;
  disabled?: boolean;
}) {
  return (
    <>
      {error ? (
        <Alert color="red" title={errorTitle} role="alert">
          {errorMessage(error)}
        </Alert>
      ) : null}
      <Group justify="flex-end" gap="xs">
        <Button variant="default" onClick={onCancel}>
          Cancel
        </Button>
        <Button type={onSave ? "button" : "submit"} onClick={onSave} loading={saving} disabled={disabled}>
          {saveLabel}
        </Button>
      </Group>
    </>
  );
}
