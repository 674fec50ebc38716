// Step 5: the server's plan — exactly what will run (PVE create parameters, files, packages, scripts and
// hooks in order, inputs with secrets masked) — and the failure policy.
import { Alert, Badge, Code, List, Select, SimpleGrid, Stack, Table, Text, Title } from "@mantine/core";
import type { ReactNode } from "react";

import type { Schemas } from "../../api/client";
import { FEATURE_NAMES, type FeatureName } from "./model";
import type { WizardForm } from "./types";

type Plan = Schemas["DeploymentPlan"];

function Section({ title, children }: { title: string; children: ReactNode }) {
  return (
    <Stack gap={4} component="section" aria-label={title}>
      <Title order={3} size="h5">{title}</Title>
      {children}
    </Stack>
  );
}

function KeyValues({ label, entries }: { label: string; entries: [string, unknown][] }) {
  if (entries.length === 0) return <Text size="sm" c="dimmed">None</Text>;
  return (
    <Table.ScrollContainer minWidth={320}>
      <Table aria-label={label} verticalSpacing={4} fz="sm">
        <Table.Tbody>
          {entries.map(([key, value]) => (
            <Table.Tr key={key}>
              <Table.Td><Code>{key}</Code></Table.Td>
              <Table.Td style={{ wordBreak: "break-all" }}>{typeof value === "string" ? value : JSON.stringify(value)}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

const FEATURE_LABELS: Record<FeatureName, string> = { nesting: "nesting", keyctl: "keyctl", fuse: "FUSE" };

export function ReviewStep({ plan, form }: { plan: Plan; form: WizardForm }) {
  // What was asked; the Proxmox create parameters below show what the server will actually send.
  const values = form.getValues();
  const features = FEATURE_NAMES.filter((name) => values.features[name]).map((name) => FEATURE_LABELS[name]);
  return (
    <Stack gap="md">
      <SimpleGrid cols={{ base: 1, sm: 2 }} spacing="xs">
        <Text size="sm"><b>Template:</b> {plan.template.name} rev {plan.template.revision}</Text>
        <Text size="sm"><b>Node:</b> {plan.node.name} ({plan.node.pve_node})</Text>
        <Text size="sm"><b>Hostname:</b> {plan.hostname}</Text>
        <Text size="sm">
          <b>VMID:</b> {plan.vmid ?? `next free (now ${plan.suggested_vmid ?? "?"})`}
        </Text>
        <Text size="sm" style={{ wordBreak: "break-all" }}><b>OS template:</b> {plan.ostemplate}</Text>
        <Text size="sm"><b>Storage:</b> {plan.rootfs_storage}</Text>
        <Text size="sm"><b>Features:</b> {features.length > 0 ? features.join(", ") : "none"}</Text>
        <Text size="sm">
          <b>Firewall:</b> {values.firewall ? "on" : "off"}; <b>MTU:</b> {values.mtu === "" ? "the bridge's" : values.mtu}
        </Text>
      </SimpleGrid>
      {plan.warnings.length > 0 && (
        <Alert color="yellow" title="Warnings">
          {plan.warnings.map((warning) => <Text key={warning} size="sm">{warning}</Text>)}
        </Alert>
      )}
      <Section title="Steps in order">
        <List type="ordered" size="sm" spacing={2}>
          {plan.steps.map((step, index) => (
            <List.Item key={`${index}-${step.kind}-${step.name}`}>
              <Badge size="xs" variant="light" mr={6}>{step.phase}</Badge>
              {step.kind}: {step.name} <Text span size="xs" c="dimmed">({step.target})</Text>
            </List.Item>
          ))}
        </List>
      </Section>
      <Section title="Proxmox create parameters">
        <KeyValues label="Proxmox create parameters" entries={Object.entries(plan.pve_params)} />
      </Section>
      <Section title="Packages">
        {plan.packages.length === 0 ? (
          <Text size="sm" c="dimmed">None</Text>
        ) : (
          <Text size="sm" style={{ wordBreak: "break-word" }}>{plan.packages.map((p) => p.spec).join(", ")}</Text>
        )}
      </Section>
      <Section title="Files">
        {plan.files.length === 0 ? (
          <Text size="sm" c="dimmed">None</Text>
        ) : (
          <List size="sm" spacing={2}>
            {plan.files.map((file) => (
              <List.Item key={file.destination}>
                <Code>{file.destination}</Code> ← {file.source} <Text span size="xs" c="dimmed">{file.owner} {file.mode}</Text>
              </List.Item>
            ))}
          </List>
        )}
      </Section>
      <Section title="Inputs">
        <KeyValues label="Inputs" entries={Object.entries(plan.inputs)} />
      </Section>
      <Select
        label="On failure"
        description="Keep a failed container for debugging, or destroy it"
        data={[{ value: "keep", label: "Keep the container" }, { value: "destroy", label: "Destroy the container" }]}
        allowDeselect={false}
        {...form.getInputProps("on_failure")}
      />
    </Stack>
  );
}
