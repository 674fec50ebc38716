// Small icon buttons with a tooltip, for row actions in tables; `label` is the accessible name.
import { ActionIcon, Tooltip } from "@mantine/core";
import { type Icon, IconPencil, IconTrash } from "@tabler/icons-react";

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

type RowActionProps = { label: string; onClick: () => void; disabled?: boolean };

export function EditAction(props: RowActionProps) {
  return <IconAction tooltip="Edit" icon={IconPencil} {...props} />;
}

export function DeleteAction(props: RowActionProps) {
  return <IconAction tooltip="Delete" icon={IconTrash} color="red" {...props} />;
}
