import { Fieldset, Stack } from "@mantine/core";
import type { ReactNode } from "react";

/** One titled part of the editor form (a fieldset, so screen readers announce the group). */
export function Section({ title, children }: { title: string; children: ReactNode }) {
  return (
    <Fieldset legend={title}>
      <Stack gap="sm">{children}</Stack>
    </Fieldset>
  );
}
