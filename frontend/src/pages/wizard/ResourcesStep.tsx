// Step 3: cores, memory, swap, disk, privilege and container features (the template's defaults pre-filled).
import { Divider, NumberInput, SimpleGrid, Stack, Switch } from "@mantine/core";

import type { WizardForm } from "./types";

// The Proxmox wizard's container features; labels are the accessible names the tests rely on.
const FEATURES = [
  { name: "nesting", label: "Nesting", description: "Nested containers, systemd sandboxing (needed by most recent distributions)" },
  { name: "keyctl", label: "keyctl", description: "The keyctl() system call (Docker in unprivileged containers)" },
  { name: "fuse", label: "FUSE", description: "FUSE mounts inside the container" },
] as const;

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
      <Divider label="Features" labelPosition="left" />
      <SimpleGrid cols={{ base: 1, sm: 3 }}>
        {FEATURES.map((feature) => (
          <Switch
            key={feature.name}
            label={feature.label}
            // The label element also wraps the description: keep the accessible name to the label alone.
            aria-label={feature.label}
            description={feature.description}
            {...form.getInputProps(`features.${feature.name}`, { type: "checkbox" })}
          />
        ))}
      </SimpleGrid>
    </Stack>
  );
}
