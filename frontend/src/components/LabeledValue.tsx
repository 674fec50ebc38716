// A small caption over a value, for read-only details laid out in a grid.
import { Text } from "@mantine/core";
import type { ReactNode } from "react";

export function LabeledValue({ label, value }: { label: string; value: ReactNode }) {
  return (
    <div>
      <Text size="xs" c="dimmed">
        {label}
      </Text>
      <Text size="sm" style={{ wordBreak: "break-word" }}>
        {value}
      </Text>
    </div>
  );
}
