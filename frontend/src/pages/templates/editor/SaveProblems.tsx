// What went wrong on save: a 412 conflict (with a way forward that keeps the user's edits), a 409
// (folder not writable), or validation problems the form has no field for.
import { Alert, Button, Group, List, Stack, Text } from "@mantine/core";

export type SaveProblem =
  | { kind: "conflict"; message: string }
  | { kind: "readonly"; message: string }
  | { kind: "invalid"; message: string; rest: string[] }
  | { kind: "other"; message: string };

export function SaveProblems({
  problem,
  reloading,
  onKeepMine,
  onLoadLatest,
}: {
  problem: SaveProblem;
  reloading: boolean;
  onKeepMine: () => void;
  onLoadLatest: () => void;
}) {
  if (problem.kind === "conflict") {
    return (
      <Alert color="orange" title="Someone else changed this template" role="alert">
        <Stack gap="xs" align="flex-start">
          <Text size="sm">
            {problem.message}. Your edits are still in the form below. Either keep them and save over the latest
            version, or load the latest version (your edits are set aside and can be restored).
          </Text>
          <Group gap="xs">
            <Button size="xs" onClick={onKeepMine} loading={reloading}>
              Keep my edits
            </Button>
            <Button size="xs" variant="default" onClick={onLoadLatest} loading={reloading}>
              Load latest version
            </Button>
          </Group>
        </Stack>
      </Alert>
    );
  }
  if (problem.kind === "readonly") {
    return (
      <Alert color="red" title="The templates folder is not writable" role="alert">
        {problem.message}. Ask an administrator to make the folder writable, or save it as a new template with Clone.
      </Alert>
    );
  }
  if (problem.kind === "invalid") {
    return (
      <Alert color="red" title="The template was not saved" role="alert">
        <Text size="sm">
          {problem.rest.length ? problem.message : "Fix the fields marked in red below."}
        </Text>
        {problem.rest.length > 0 && (
          <List size="sm" mt="xs">
            {problem.rest.map((line) => (
              <List.Item key={line}>{line}</List.Item>
            ))}
          </List>
        )}
      </Alert>
    );
  }
  return (
    <Alert color="red" title="The template was not saved" role="alert">
      {problem.message}
    </Alert>
  );
}
