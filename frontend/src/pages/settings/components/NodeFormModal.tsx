// Add or edit a Proxmox node. Adding with a pinned fingerprint needs the fetched certificate confirmed first.
import {
  Alert,
  Button,
  Checkbox,
  Divider,
  Group,
  Modal,
  NumberInput,
  PasswordInput,
  Select,
  SimpleGrid,
  Stack,
  Text,
  Textarea,
  TextInput,
} from "@mantine/core";
import { useForm } from "@mantine/form";
import { notifications } from "@mantine/notifications";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";

import { api, ApiError, errorMessage, type Schemas, unwrap } from "../../../api/client";
import { CertificateCheck, EMPTY_PROBE, type ProbeState } from "./CertificateCheck";
import { createBody, nodeValues, type NodeValues, type TLSMode, updateBody } from "./nodeForm";

const TLS_MODES: { value: TLSMode; label: string }[] = [
  { value: "fingerprint", label: "Pin the certificate fingerprint (self-signed, recommended)" },
  { value: "ca_bundle", label: "Trust a CA certificate I provide" },
  { value: "system", label: "Trust the system CA store (publicly signed certificate)" },
];

interface Props {
  opened: boolean;
  onClose: () => void;
  /** The node to edit; null adds a new one. */
  node: Schemas["NodeOut"] | null;
}

export function NodeFormModal({ opened, onClose, node }: Props) {
  const queryClient = useQueryClient();
  const editing = node !== null;
  const form = useForm<NodeValues>({ initialValues: nodeValues(null) });
  const [probe, setProbe] = useState<ProbeState>(EMPTY_PROBE);

  useEffect(() => {
    if (!opened) return;
    form.setValues(nodeValues(node));
    form.clearErrors();
    setProbe(EMPTY_PROBE);
    // eslint-disable-next-line react-hooks/exhaustive-deps -- reset only when the dialog opens
  }, [opened, node]);

  const save = useMutation({
    mutationFn: (values: NodeValues) =>
      editing
        ? unwrap(
            api.PATCH("/api/v1/nodes/{node_id}", {
              params: { path: { node_id: node.id } },
              body: updateBody(node, values, probe),
            }),
          )
        : unwrap(api.POST("/api/v1/nodes", { body: createBody(values, probe) })),
    onSuccess: (saved) => {
      void queryClient.invalidateQueries({ queryKey: ["nodes"] });
      notifications.show({ color: "green", message: `Node ${saved.name} saved` });
      onClose();
    },
    onError: (error) => {
      if (error instanceof ApiError) form.setErrors(error.fieldMap());
    },
  });

  const values = form.values;
  const probeCurrent = probe.certificate !== null && probe.probedUrl === values.api_url.trim();
  // A new node pinned by fingerprint is only created once the admin confirmed the fetched certificate.
  const needsConfirmation =
    values.tls_mode === "fingerprint" && (!editing || node.tls_mode !== "fingerprint" || !node.tls_fingerprint);
  const confirmed = probeCurrent && probe.confirmed;
  // When editing, a fetched but unconfirmed certificate must not be saved silently either.
  const pendingReprobe = editing && values.tls_mode === "fingerprint" && probe.certificate !== null && !confirmed;
  const blocked = (needsConfirmation && !confirmed) || pendingReprobe;
  const knownFields = new Set(Object.keys(nodeValues(null)));
  const unplaced =
    save.error instanceof ApiError ? Object.keys(save.error.fieldMap()).filter((key) => !knownFields.has(key) && key !== "tls_fingerprint") : [];
  const showAlert = save.error && (!(save.error instanceof ApiError) || save.error.fields.length === 0 || unplaced.length > 0);

  return (
    <Modal opened={opened} onClose={onClose} title={editing ? `Edit node ${node.name}` : "Add node"} size="xl">
      <form onSubmit={form.onSubmit((submitted) => save.mutate(submitted))} noValidate>
        <Stack gap="md">
          <SimpleGrid cols={{ base: 1, sm: 2 }}>
            <TextInput label="Name" description="How this app calls the node" required {...form.getInputProps("name")} />
            <TextInput
              label="PVE node name"
              description="The node's name inside Proxmox (default: Name)"
              {...form.getInputProps("pve_node")}
            />
          </SimpleGrid>
          <TextInput
            label="API URL"
            description="https://host[:port]; port 8006 when omitted"
            placeholder="https://pve1.lan:8006"
            required
            {...form.getInputProps("api_url")}
          />
          <SimpleGrid cols={{ base: 1, sm: 2 }}>
            <TextInput
              label="API token ID"
              placeholder="lxcm@pve!dashboard"
              required
              {...form.getInputProps("token_id")}
            />
            <PasswordInput
              label="API token secret"
              description={editing ? "Leave blank to keep the stored secret" : "Stored encrypted; never shown again"}
              required={!editing}
              autoComplete="new-password"
              {...form.getInputProps("token_secret")}
            />
          </SimpleGrid>
          <Select
            label="TLS verification"
            data={TLS_MODES}
            allowDeselect={false}
            {...form.getInputProps("tls_mode")}
          />
          {values.tls_mode === "fingerprint" && (
            <CertificateCheck
              apiUrl={values.api_url}
              probe={probe}
              onChange={setProbe}
              error={form.errors.tls_fingerprint as string | undefined}
              currentFingerprint={node?.tls_fingerprint}
            />
          )}
          {values.tls_mode === "ca_bundle" && (
            <Textarea
              label="CA certificate (PEM)"
              rows={5}
              styles={{ input: { fontFamily: "var(--mantine-font-family-monospace)" } }}
              {...form.getInputProps("tls_ca_bundle")}
            />
          )}
          <Divider label="SSH (optional: for file uploads and commands inside containers)" labelPosition="left" />
          <SimpleGrid cols={{ base: 1, sm: 3 }}>
            <TextInput label="SSH host" description="Default: the API host" {...form.getInputProps("ssh_host")} />
            <NumberInput label="SSH port" min={1} max={65535} {...form.getInputProps("ssh_port")} />
            <TextInput label="SSH user" {...form.getInputProps("ssh_user")} />
          </SimpleGrid>
          <Textarea
            label="SSH private key"
            description={
              editing && node.has_ssh_private_key
                ? "A key is stored; leave blank to keep it"
                : "Unencrypted OpenSSH or PEM key; stored encrypted, never shown again"
            }
            rows={3}
            styles={{ input: { fontFamily: "var(--mantine-font-family-monospace)" } }}
            {...form.getInputProps("ssh_private_key")}
          />
          {editing && node.has_ssh_private_key && (
            <Checkbox
              label="Remove the stored SSH private key"
              disabled={values.ssh_private_key.trim().length > 0}
              {...form.getInputProps("clear_ssh_private_key", { type: "checkbox" })}
            />
          )}
          <Textarea
            label="SSH host key"
            description="The node's public host key (OpenSSH format), pinned"
            rows={2}
            styles={{ input: { fontFamily: "var(--mantine-font-family-monospace)" } }}
            {...form.getInputProps("ssh_host_key")}
          />
          {showAlert && (
            <Alert color="red" title="Could not save the node" role="alert">
              {errorMessage(save.error)}
              {unplaced.map((key) => (
                <Text key={key} size="sm">
                  {key}: {(save.error as ApiError).fieldMap()[key]}
                </Text>
              ))}
            </Alert>
          )}
          <Group justify="flex-end" gap="xs">
            {blocked && (
              <Text size="xs" c="dimmed">
                Fetch the certificate and confirm its fingerprint first.
              </Text>
            )}
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" loading={save.isPending} disabled={blocked}>
              {editing ? "Save node" : "Add node"}
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
