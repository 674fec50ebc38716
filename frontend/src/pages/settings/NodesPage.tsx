// Proxmox nodes: admins add (pinning the certificate), test, edit and delete; others see the nodes they may use.
import { Alert, Anchor, Badge, Button, Group, Stack, Table, Text } from "@mantine/core";
import { IconPlugConnected, IconUsers } from "@tabler/icons-react";
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";

import { api, type Schemas, unwrap } from "../../api/client";
import { useAuth } from "../../auth/AuthContext";
import { AddButton } from "../../components/AddButton";
import { DataTable } from "../../components/DataTable";
import { DeleteAction, EditAction, IconAction } from "../../components/IconAction";
import { PageHeader } from "../../components/PageHeader";
import { EmptyState } from "../../components/PageState";
import { QueryView } from "../../components/QueryView";
import { useFormModal } from "../../lib/useFormModal";
import { ConfirmModal } from "./components/ConfirmModal";
import { formatDateTime } from "./components/format";
import { NodeAccessModal } from "./components/NodeAccessModal";
import { NodeFormModal } from "./components/NodeFormModal";
import { NodeTestModal } from "./components/NodeTestModal";
import { useConfirmedAction } from "./components/useConfirmedAction";

type Node = Schemas["NodeOut"];

const TLS_LABEL: Record<Schemas["TLSMode"], string> = {
  fingerprint: "Pinned fingerprint",
  ca_bundle: "Own CA",
  system: "System CAs",
};

function NodeStatus({ node }: { node: Node }) {
  const [color, label] =
    node.last_test_ok === null ? ["gray", "Not tested"] : node.last_test_ok ? ["green", "Connected"] : ["red", "Test failed"];
  return (
    <Stack gap={2}>
      <Badge color={color} variant="light">
        {label}
      </Badge>
      {node.last_test_at && (
        <Text size="xs" c="dimmed" title={node.last_test_at}>
          {formatDateTime(node.last_test_at)}
        </Text>
      )}
    </Stack>
  );
}

export default function NodesPage() {
  const { isAdmin } = useAuth();
  const form = useFormModal<Node>();
  const [testing, setTesting] = useState<Node | null>(null);
  const [accessFor, setAccessFor] = useState<Node | null>(null);

  const nodes = useQuery({ queryKey: ["nodes"], queryFn: () => unwrap(api.GET("/api/v1/nodes")) });
  const remove = useConfirmedAction({
    action: (node: Node) => unwrap(api.DELETE("/api/v1/nodes/{node_id}", { params: { path: { node_id: node.id } } })),
    invalidates: ["nodes"],
    successMessage: (node) => `Node ${node.name} deleted`,
  });

  return (
    <>
      <PageHeader
        title="Nodes"
        description="Proxmox VE hosts that containers are created on."
        actions={isAdmin && <AddButton onClick={form.create}>Add node</AddButton>}
      />
      <Stack gap="md">
        {!isAdmin && (
          <Alert color="blue" variant="light" title="Read-only">
            These are the nodes you may deploy to. Only an admin can add or change nodes and grant access.
          </Alert>
        )}
        <QueryView
          query={nodes}
          loadingLabel="Loading nodes"
          isEmpty={(data) => data.length === 0}
          empty={
            <EmptyState title="No nodes">
              {isAdmin ? "Add your first Proxmox node with “Add node”." : "No node has been shared with you yet; ask an admin."}
            </EmptyState>
          }
        >
          {(data) => (
            <DataTable
              headers={["Name", "API URL", "Status", "Version", "TLS", isAdmin && "Actions"]}
              minWidth={680}
              verticalSpacing="sm"
              aria-label="Nodes"
            >
              {data.map((node) => (
                <Table.Tr key={node.id}>
                  <Table.Td>
                    <Text fw={600} size="sm">
                      {node.name}
                    </Text>
                    {node.pve_node && node.pve_node !== node.name && (
                      <Text size="xs" c="dimmed">
                        PVE node {node.pve_node}
                      </Text>
                    )}
                  </Table.Td>
                  <Table.Td>
                    <Anchor href={node.api_url} target="_blank" rel="noreferrer" size="sm" style={{ wordBreak: "break-all" }}>
                      {node.api_url}
                    </Anchor>
                  </Table.Td>
                  <Table.Td>
                    <NodeStatus node={node} />
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm">{node.pve_version ?? "—"}</Text>
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm">{TLS_LABEL[node.tls_mode]}</Text>
                  </Table.Td>
                  {isAdmin && (
                    <Table.Td>
                      <Group gap={4} wrap="nowrap">
                        <Button
                          size="xs"
                          variant="light"
                          leftSection={<IconPlugConnected size={14} aria-hidden />}
                          aria-label={`Test connection to ${node.name}`}
                          onClick={() => setTesting(node)}
                        >
                          Test connection
                        </Button>
                        <EditAction label={`Edit node ${node.name}`} onClick={() => form.edit(node)} />
                        <IconAction
                          tooltip="Who may use it"
                          label={`Manage access to ${node.name}`}
                          icon={IconUsers}
                          onClick={() => setAccessFor(node)}
                        />
                        <DeleteAction label={`Delete node ${node.name}`} onClick={() => remove.ask(node)} />
                      </Group>
                    </Table.Td>
                  )}
                </Table.Tr>
              ))}
            </DataTable>
          )}
        </QueryView>
      </Stack>
      {isAdmin && (
        <>
          <NodeFormModal opened={form.opened} node={form.editing} onClose={form.close} />
          <NodeTestModal node={testing} onClose={() => setTesting(null)} />
          <NodeAccessModal node={accessFor} onClose={() => setAccessFor(null)} />
          <ConfirmModal {...remove.modalProps} title="Delete node" confirmLabel="Delete node">
            Delete the node <b>{remove.target?.name}</b>? Its stored secrets and access grants go with it; containers on
            the host are not touched.
          </ConfirmModal>
        </>
      )}
    </>
  );
}
