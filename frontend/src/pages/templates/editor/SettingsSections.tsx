// Basics, resources and network defaults of the editor.
import { Checkbox, Group, NumberInput, Select, SimpleGrid, Switch, TagsInput, Textarea, TextInput } from "@mantine/core";
import type { UseFormReturnType } from "@mantine/form";

import { type EditorValues, OSTYPES } from "./model";
import { Section } from "./Section";

export type EditorForm = UseFormReturnType<EditorValues>;

export function BasicsSection({ form, editing }: { form: EditorForm; editing: boolean }) {
  return (
    <Section title="Basics">
      <SimpleGrid cols={{ base: 1, sm: 2 }}>
        <TextInput
          label="Template name"
          description={editing ? "The name cannot change; clone the template to rename it" : "Lowercase letters, digits and dashes"}
          required
          disabled={editing}
          {...form.getInputProps("name")}
        />
        <TagsInput
          label="Tags"
          description="Press Enter after each tag"
          {...form.getInputProps("tags")}
        />
      </SimpleGrid>
      <Textarea label="Template description" autosize minRows={2} maxRows={6} {...form.getInputProps("description")} />
      <SimpleGrid cols={{ base: 1, sm: 2 }}>
        <TextInput
          label="OS template"
          description="As listed by pveam available, without version"
          placeholder="debian-12-standard"
          required
          {...form.getInputProps("os.template")}
        />
        <Select
          label="OS type"
          placeholder="Guess from the template"
          data={OSTYPES}
          clearable
          {...form.getInputProps("os.ostype")}
        />
      </SimpleGrid>
    </Section>
  );
}

export function ResourcesSection({ form }: { form: EditorForm }) {
  return (
    <Section title="Resources">
      <SimpleGrid cols={{ base: 2, sm: 4 }}>
        <NumberInput label="Cores" min={1} max={512} {...form.getInputProps("container.cores")} />
        <NumberInput label="Memory (MiB)" min={16} step={256} {...form.getInputProps("container.memory")} />
        <NumberInput label="Swap (MiB)" min={0} step={256} {...form.getInputProps("container.swap")} />
        <NumberInput label="Disk (GiB)" min={1} {...form.getInputProps("container.disk")} />
      </SimpleGrid>
      <Group gap="lg">
        <Switch label="Unprivileged" {...form.getInputProps("container.unprivileged", { type: "checkbox" })} />
        <Switch label="Start on boot" {...form.getInputProps("container.onboot", { type: "checkbox" })} />
      </Group>
      <Group gap="lg">
        <Checkbox
          label="Nesting"
          description="Nested containers, systemd sandboxing"
          {...form.getInputProps("container.features.nesting", { type: "checkbox" })}
        />
        <Checkbox
          label="keyctl"
          description="Docker in unprivileged containers"
          {...form.getInputProps("container.features.keyctl", { type: "checkbox" })}
        />
        <Checkbox label="FUSE" description="FUSE mounts" {...form.getInputProps("container.features.fuse", { type: "checkbox" })} />
      </Group>
    </Section>
  );
}

export function NetworkSection({ form }: { form: EditorForm }) {
  return (
    <Section title="Network defaults">
      <SimpleGrid cols={{ base: 1, xs: 2, md: 3 }}>
        <TextInput label="Bridge" {...form.getInputProps("container.network.bridge")} />
        <TextInput label="IPv4" description="dhcp or 10.0.0.5/24" {...form.getInputProps("container.network.ip")} />
        <TextInput label="IPv6" description="none, auto, dhcp or a CIDR" {...form.getInputProps("container.network.ip6")} />
        <TextInput label="Gateway" description="Only with a static IPv4" {...form.getInputProps("container.network.gateway")} />
        <NumberInput label="VLAN tag" min={1} max={4094} {...form.getInputProps("container.network.vlan")} />
      </SimpleGrid>
      <Switch label="Firewall" {...form.getInputProps("container.network.firewall", { type: "checkbox" })} />
    </Section>
  );
}
