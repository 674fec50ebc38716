// Config tab: the container defaults, inputs, services and credential outputs of the current revision.
import { Badge, Group, SimpleGrid, Stack, Table, Text, Title } from "@mantine/core";
import type { ReactNode } from "react";

import { DataTable } from "../../../components/DataTable";
import { LabeledValue } from "../../../components/LabeledValue";
import type { TemplateDetail } from "../api";
import { CodeBlock } from "../components/CodeBlock";

const yesNo = (value: boolean | undefined) => (value ? "yes" : "no");

function Section({ title, children }: { title: string; children: ReactNode }) {
  return (
    <Stack gap="xs">
      <Title order={3} size="h4">
        {title}
      </Title>
      {children}
    </Stack>
  );
}

export function ConfigTab({ template }: { template: TemplateDetail }) {
  const { os, container } = template.config;
  const net = container.network;
  const features = container.features;
  const enabledFeatures = features ? Object.entries(features).filter(([, on]) => on).map(([name]) => name) : [];
  return (
    <Stack gap="lg">
      <Section title="Settings">
        <SimpleGrid cols={{ base: 2, sm: 3, md: 4 }} spacing="sm">
          <LabeledValue label="OS template" value={os.template} />
          <LabeledValue label="OS type" value={os.ostype ?? "auto"} />
          {os.volid && <LabeledValue label="Volume id" value={os.volid} />}
          <LabeledValue label="Cores" value={container.cores ?? 1} />
          <LabeledValue label="Memory" value={`${container.memory ?? 512} MiB`} />
          <LabeledValue label="Swap" value={`${container.swap ?? 512} MiB`} />
          <LabeledValue label="Disk" value={`${container.disk ?? 4} GiB`} />
          <LabeledValue label="Unprivileged" value={yesNo(container.unprivileged ?? true)} />
          <LabeledValue label="Start on boot" value={yesNo(container.onboot)} />
          <LabeledValue label="Features" value={enabledFeatures.length ? enabledFeatures.join(", ") : "none"} />
        </SimpleGrid>
      </Section>
      <Section title="Network defaults">
        <SimpleGrid cols={{ base: 2, sm: 3, md: 4 }} spacing="sm">
          <LabeledValue label="Bridge" value={net?.bridge ?? "vmbr0"} />
          <LabeledValue label="IPv4" value={net?.ip ?? "dhcp"} />
          <LabeledValue label="IPv6" value={net?.ip6 ?? "none"} />
          {net?.gateway && <LabeledValue label="Gateway" value={net.gateway} />}
          {net?.vlan != null && <LabeledValue label="VLAN" value={net.vlan} />}
          <LabeledValue label="Firewall" value={yesNo(net?.firewall)} />
        </SimpleGrid>
      </Section>
      <Section title="Inputs">
        {template.inputs.length === 0 ? (
          <Text size="sm" c="dimmed">No inputs.</Text>
        ) : (
          <DataTable headers={["Name", "Type", "Default", "Description"]}>
            {template.inputs.map((input) => (
              <Table.Tr key={input.name}>
                <Table.Td ff="monospace">{input.name}</Table.Td>
                <Table.Td>
                  <Group gap={4}>
                    {input.type ?? "string"}
                    {input.required && <Badge size="xs">required</Badge>}
                    {(input.secret || input.type === "password") && <Badge size="xs" color="orange">secret</Badge>}
                  </Group>
                </Table.Td>
                <Table.Td>{input.default == null ? "—" : String(input.default)}</Table.Td>
                <Table.Td>{input.description ?? ""}</Table.Td>
              </Table.Tr>
            ))}
          </DataTable>
        )}
      </Section>
      <Section title="Services">
        {template.services.length === 0 ? (
          <Text size="sm" c="dimmed">No services.</Text>
        ) : (
          <DataTable headers={["Name", "Unit", "Port", "Web UI"]}>
            {template.services.map((service) => (
              <Table.Tr key={service.name}>
                <Table.Td>{service.name}</Table.Td>
                <Table.Td ff="monospace">{service.unit ?? "—"}</Table.Td>
                <Table.Td>{service.port != null ? `${service.port}/${service.protocol ?? "tcp"}` : "—"}</Table.Td>
                <Table.Td ff="monospace">{service.web_ui ?? "—"}</Table.Td>
              </Table.Tr>
            ))}
          </DataTable>
        )}
      </Section>
      <Section title="Credential outputs">
        {template.credentials.length === 0 ? (
          <Text size="sm" c="dimmed">No credentials are captured.</Text>
        ) : (
          <Stack gap={4}>
            {template.credentials.map((credential) => (
              <Text key={credential.name} size="sm">
                <Text span ff="monospace">{credential.name}</Text>
                {" — from "}
                {credential.capture.output ? `output ${credential.capture.output}` : `file ${credential.capture.file ?? "?"}`}
                {credential.service ? ` (service ${credential.service})` : ""}
                {credential.description ? `: ${credential.description}` : ""}
              </Text>
            ))}
          </Stack>
        )}
      </Section>
      <Section title="template.yaml">
        <CodeBlock code={template.manifest_yaml} language="yaml" label="template.yaml" />
      </Section>
    </Stack>
  );
}
