// Move up / move down / remove buttons of one row in an ordered list.
import { ActionIcon, Group } from "@mantine/core";
import { IconArrowDown, IconArrowUp, IconTrash } from "@tabler/icons-react";

export function RowControls({
  label,
  index,
  count,
  onMove,
  onRemove,
}: {
  label: string; // e.g. "script 2"
  index: number;
  count: number;
  onMove?: (from: number, to: number) => void;
  onRemove: () => void;
}) {
  return (
    <Group gap={4}>
      {onMove && (
        <>
          <ActionIcon
            variant="subtle"
            aria-label={`Move ${label} up`}
            disabled={index === 0}
            onClick={() => onMove(index, index - 1)}
          >
            <IconArrowUp size={16} aria-hidden />
          </ActionIcon>
          <ActionIcon
            variant="subtle"
            aria-label={`Move ${label} down`}
            disabled={index === count - 1}
            onClick={() => onMove(index, index + 1)}
          >
            <IconArrowDown size={16} aria-hidden />
          </ActionIcon>
        </>
      )}
      <ActionIcon variant="subtle" color="red" aria-label={`Remove ${label}`} onClick={onRemove}>
        <IconTrash size={16} aria-hidden />
      </ActionIcon>
    </Group>
  );
}
