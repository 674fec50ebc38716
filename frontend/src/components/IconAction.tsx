// A small icon button with a tooltip, for row actions in tables; `label` is its accessible name.
import { ActionIcon, Tooltip } from "@mantine/core";
import type { Icon } from "@tabler/icons-react";

export function IconAction({
  tooltip,
  label,
  icon: Glyph,
  onClick,
  color,
  disabled,
}: {
  tooltip: string;
  label: string;
  icon: Icon;
  onClick: () => void;
  color?: string;
  disabled?: boolean;
}) {
  return (
    <Tooltip label={tooltip}>
      <ActionIcon variant="subtle" color={color} aria-label={label} onClick={onClick} disabled={disabled}>
        <Glyph size={16} aria-hidden />
      </ActionIcon>
    </Tooltip>
  );
}
