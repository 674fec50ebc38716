// Step 2: node, storage for the root disk, OS template (or download one), VMID.
import { Alert, Button, Group, NumberInput, Select, SimpleGrid, Stack, Text } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";

import { api, unwrap } from "../../api/client";
import { ErrorState, LoadingState } from "../../components/PageState";
import type { DeployDefaults } from "./model";
import { fetchNextVmid, fetchOsTemplates, fetchStorages, formatBytes, nodeProblem, useNodeQuery } from "./nodeQueries";
import { OsTemplateDownload } from "./OsTemplateDownload";
import type { WizardForm } from "./types";

export function NodeStep({ form, defaults }: { form: WizardForm; defaults: DeployDefaults | undefined }) {
  const nodes = useQuery({ queryKey: ["nodes", "list"], queryFn: () => unwrap(api.GET("/api/v1/nodes")) });
  const nodeId = form.values.node_id;
  const storages = useNodeQuery(nodeId, "storages", (path) => fetchStorages(path));
  const osTemplates = useNodeQuery(nodeId, "os-templates", fetchOsTemplates);
  const nextVmid = useNodeQuery(nodeId, "next-vmid", fetchNextVmid);
  const nodeError = storages.error ?? osTemplates.error ?? nextVmid.error;
  const osName = defaults?.os_template ?? "";

  if (nodes.isPending) return <LoadingState label="Loading nodes" />;
  if (nodes.isError) return <ErrorState error={nodes.error} onRetry={() => void nodes.refetch()} />;
  if (nodes.data.length === 0) {
    return (
      <Alert color="orange" title="No node available">
        You have access to no Proxmox node. An admin can add one or grant you access in Settings → Nodes.
      </Alert>
    );
  }
  const onStorage = osTemplates.data?.on_storage ?? [];
  const osOptions = [
    { value: "", label: `Newest ${osName || "matching"} template on the node` },
    ...onStorage.map((t) => ({ value: t.volid, label: `${t.volid} (${formatBytes(t.size)})` })),
  ];

  return (
    <Stack gap="md">
      <Select
        label="Node"
        placeholder="Choose a node"
        data={nodes.data.map((n) => ({ value: n.id, label: n.pve_node ? `${n.name} (${n.pve_node})` : n.name }))}
        withAsterisk
        {...form.getInputProps("node_id")}
        onChange={(value) => {
          form.setFieldValue("node_id", value ?? "");
          // Node-specific choices do not carry over to another node.
          form.setFieldValue("rootfs_storage", "");
          form.setFieldValue("vmid", "");
        }}
      />
      {nodeId && nodeError != null && (
        <Alert color="red" title="This node cannot be used" role="alert">
          {nodeProblem(nodeError)}
        </Alert>
      )}
      {nodeId && nodeError == null && (
        <>
          <SimpleGrid cols={{ base: 1, sm: 2 }}>
            <Select
              label="Storage"
              description="Where the root disk goes"
              placeholder={storages.isPending ? "Loading storages…" : "The roomiest storage"}
              data={(storages.data ?? []).map((s) => ({
                value: s.storage,
                label: `${s.storage} (${s.type}, ${formatBytes(s.avail)} free)`,
              }))}
              clearable
              {...form.getInputProps("rootfs_storage")}
              value={form.values.rootfs_storage || null}
              onChange={(value) => form.setFieldValue("rootfs_storage", value ?? "")}
            />
            <NumberInput
              label="VMID"
              description={nextVmid.data ? `Empty: the next free ID (now ${nextVmid.data.vmid})` : "Empty: the next free ID"}
              placeholder={nextVmid.data ? String(nextVmid.data.vmid) : undefined}
              min={100}
              max={999_999_999}
              allowDecimal={false}
              {...form.getInputProps("vmid")}
            />
          </SimpleGrid>
          {nextVmid.data && form.values.vmid === "" && (
            <Group>
              <Button size="xs" variant="subtle" onClick={() => form.setFieldValue("vmid", nextVmid.data.vmid)}>
                Use suggested VMID {nextVmid.data.vmid}
              </Button>
            </Group>
          )}
          {osTemplates.isPending ? (
            <LoadingState label="Loading OS templates" />
          ) : (
            <>
              <Select
                label="OS template"
                description={osName ? `The template expects ${osName}` : undefined}
                data={osOptions}
                {...form.getInputProps("ostemplate")}
                onChange={(value) => form.setFieldValue("ostemplate", value ?? "")}
              />
              {onStorage.length === 0 && (
                <Text size="sm" c="orange">No OS template on this node yet: download one below.</Text>
              )}
              <OsTemplateDownload nodeId={nodeId} downloadable={osTemplates.data?.downloadable ?? []} osTemplate={osName} />
            </>
          )}
        </>
      )}
    </Stack>
  );
}
