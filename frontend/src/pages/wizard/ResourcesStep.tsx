// Step 3: cores, memory, swap, disk (the template's defaults pre-filled).
import { NumberInput, SimpleGrid, Stack, Switch } from "@mantine/core";

import type { WizardForm } from "./types";

export function ResourcesStep({ form }: { form: WizardForm }) {
  return (
    <Stack gap="md">
      <SimpleGrid cols={{ base: 1, sm: 2 }}>
        <NumberInput label="Cores" min={1} max={512} allowDecimal={false} withAsterisk {...form.getInputProps("cores")} />
        <NumberInput label="Memory (MiB)" min={16} max={1_048_576} step={256} allowDecimal={false} withAsterisk {...form.getInputProps("memory")} />
        <NumberInput label="Swap (MiB)" min={0} max={1_048_576} step={256} allowDecimal={false} withAsterisk {...form.getInputProps("swap")} />
        <NumberInput label="Disk size (GiB)" min={1} max={65_536} allowDecimal={false} withAsterisk {...form.getInputProps("rootfs_size")} />
      </SimpleGrid>
      <Switch
        label="Unprivileged container"
        description="Recommended: root in the container is not root on the host"
        {...form.getInputProps("unprivileged", { type: "checkbox" })}
      />
    </Stack>
  );
}
