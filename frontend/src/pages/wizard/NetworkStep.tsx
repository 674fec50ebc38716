// Step 4: hostname, network (bridge, VLAN, MTU, firewall, DHCP or static IPv4/IPv6), DNS, access (SSH keys, root password),
// tags, start on boot, and the template's inputs.
import { Divider, NumberInput, PasswordInput, SegmentedControl, Select, SimpleGrid, Stack, Switch, TagsInput, Text, Textarea, TextInput } from "@mantine/core";

import type { TemplateInput } from "./model";
import { InputsFields } from "./InputsFields";
import { fetchBridges, nodeProblem, useNodeQuery } from "./nodeQueries";
import type { WizardForm } from "./types";

export function NetworkStep({ form, inputs }: { form: WizardForm; inputs: TemplateInput[] }) {
  const values = form.values;
  const bridges = useNodeQuery(values.node_id, "bridges", fetchBridges);
  const bridgeOptions = (bridges.data ?? []).map((b) => ({ value: b.iface, label: b.cidr ? `${b.iface} (${b.cidr})` : b.iface }));
  if (values.bridge && !bridgeOptions.some((option) => option.value === values.bridge)) {
    bridgeOptions.unshift({ value: values.bridge, label: values.bridge });
  }

  return (
    <Stack gap="md">
      <TextInput
        label="Hostname"
        description="A DNS label: letters, digits and hyphens"
        withAsterisk
        autoComplete="off"
        {...form.getInputProps("hostname")}
      />
      <Divider label="Network" labelPosition="left" />
      <SimpleGrid cols={{ base: 1, sm: 2 }}>
        <Select
          label="Bridge"
          data={bridgeOptions}
          description={bridges.isError ? nodeProblem(bridges.error) : undefined}
          {...form.getInputProps("bridge")}
          onChange={(value) => form.setFieldValue("bridge", value ?? "")}
        />
        <NumberInput label="VLAN tag" placeholder="None" min={1} max={4094} allowDecimal={false} {...form.getInputProps("vlan")} />
        <NumberInput
          label="MTU"
          description="576 to 65520; empty: the bridge's"
          placeholder="Same as bridge"
          min={576}
          max={65_520}
          allowDecimal={false}
          {...form.getInputProps("mtu")}
        />
        <Switch
          label="Firewall"
          aria-label="Firewall"
          description="The Proxmox firewall on this interface"
          {...form.getInputProps("firewall", { type: "checkbox" })}
        />
      </SimpleGrid>
      <Stack gap={4}>
        <Text size="sm" fw={500} id="ipv4-mode">IPv4</Text>
        <SegmentedControl
          aria-labelledby="ipv4-mode"
          data={[{ value: "dhcp", label: "DHCP" }, { value: "static", label: "Static" }]}
          {...form.getInputProps("ip_mode")}
        />
      </Stack>
      {values.ip_mode === "static" && (
        <SimpleGrid cols={{ base: 1, sm: 2 }}>
          <TextInput label="IPv4 address (CIDR)" placeholder="10.0.0.5/24" withAsterisk {...form.getInputProps("ip")} />
          <TextInput label="IPv4 gateway" placeholder="10.0.0.1" {...form.getInputProps("gateway")} />
        </SimpleGrid>
      )}
      <Stack gap={4}>
        <Text size="sm" fw={500} id="ipv6-mode">IPv6</Text>
        <SegmentedControl
          aria-labelledby="ipv6-mode"
          data={[
            { value: "none", label: "None" },
            { value: "auto", label: "SLAAC" },
            { value: "dhcp", label: "DHCP" },
            { value: "static", label: "Static" },
          ]}
          {...form.getInputProps("ip6_mode")}
        />
      </Stack>
      {values.ip6_mode === "static" && (
        <SimpleGrid cols={{ base: 1, sm: 2 }}>
          <TextInput label="IPv6 address (CIDR)" placeholder="fd00::5/64" withAsterisk {...form.getInputProps("ip6")} />
          <TextInput label="IPv6 gateway" placeholder="fd00::1" {...form.getInputProps("gateway6")} />
        </SimpleGrid>
      )}
      <SimpleGrid cols={{ base: 1, sm: 2 }}>
        <TextInput label="DNS servers" description="Comma-separated; empty: the host's" {...form.getInputProps("dns_servers")} />
        <TextInput label="DNS search domain" description="Optional, e.g. lan" {...form.getInputProps("search_domain")} />
      </SimpleGrid>
      <Divider label="Access" labelPosition="left" />
      <Textarea
        label="SSH public keys"
        description="One OpenSSH public key per line (for root)"
        rows={3}
        styles={{ input: { fontFamily: "var(--mantine-font-family-monospace)" } }}
        {...form.getInputProps("ssh_public_keys")}
      />
      <PasswordInput label="Root password" description="Optional; 5 to 128 characters. Never shown again." autoComplete="new-password" {...form.getInputProps("root_password")} />
      <TagsInput label="Tags" description="Proxmox tags; press Enter after each" {...form.getInputProps("tags")} />
      <Switch label="Start on boot" {...form.getInputProps("start_on_boot", { type: "checkbox" })} />
      {inputs.length > 0 && (
        <>
          <Divider label="Template inputs" labelPosition="left" />
          <InputsFields form={form} inputs={inputs} />
        </>
      )}
    </Stack>
  );
}
