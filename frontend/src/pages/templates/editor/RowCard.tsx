// One row of an editor list (a script, a file, an input, a service): a card titled "Script 2" with its
// move/remove controls, and the button that adds a row under the list.
import { Button, Card, Group, Stack, Text } from "@mantine/core";
import { IconPlus } from "@tabler/icons-react";
import type { ReactNode } from "react";

import { RowControls } from "./RowControls";

export function RowCard({
  title,
  index,
  count,
  onMove,
  onRemove,
  children,
}: {
  title: string; // e.g. "Script 2"; the controls are named after it in lower case
  index: number;
  count: number;
  onMove?: (from: number, to: number) => void;
  onRemove: () => void;
  children: ReactNode;
}) {
  return (
    <Card withBorder padding="sm">
      <Stack gap="xs">
        <Group justify="space-between" wrap="nowrap">
          <Text fw={600} size="sm">
            {title}
          </Text>
          <RowControls label={title.toLowerCase()} index={index} count={count} onMove={onMove} onRemove={onRemove} />
        </Group>
        {children}
      </Stack>
    </Card>
  );
}

export function AddRowButton({ label, onClick }: { label: string; onClick: () => void }) {
  return (
    <Group>
      <Button variant="light" leftSection={<IconPlus size={16} aria-hidden />} onClick={onClick}>
        {label}
      </Button>
    </Group>
  );
}
