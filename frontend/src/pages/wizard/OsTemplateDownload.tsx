// Download an OS template PVE offers (aplinfo) to a storage: a tracked PVE task, polled until it ends.
import { Alert, Button, Code, Group, Loader, Select, Stack, Text } from "@mantine/core";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";

import { api, errorMessage, type Schemas, unwrap } from "../../api/client";
import { fetchStorages, useNodeQuery } from "./nodeQueries";

export function OsTemplateDownload({ nodeId, downloadable, osTemplate }: {
  nodeId: string;
  downloadable: Schemas["DownloadableTemplateOut"][];
  osTemplate: string;
}) {
  const queryClient = useQueryClient();
  const storages = useNodeQuery(nodeId, "storages-vztmpl", (path) => fetchStorages(path, "vztmpl"));
  // The template's own OS first: that is what the plan will look for.
  const sorted = [...downloadable].sort(
    (a, b) => Number(b.template.startsWith(osTemplate)) - Number(a.template.startsWith(osTemplate)),
  );
  const [choice, setChoice] = useState<string | null>(sorted[0]?.template ?? null);
  const [storage, setStorage] = useState<string | null>(null);
  const [upid, setUpid] = useState<string | null>(null);
  const targetStorage = storage ?? storages.data?.[0]?.storage ?? null;

  const start = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/v1/nodes/{node_id}/os-templates/download", {
          params: { path: { node_id: nodeId } },
          body: { storage: targetStorage ?? "", template: choice ?? "" },
        }),
      ),
    onSuccess: (task) => setUpid(task.upid),
  });
  const task = useQuery({
    queryKey: ["nodes", nodeId, "task", upid],
    queryFn: () => unwrap(api.GET("/api/v1/nodes/{node_id}/tasks/{upid}", { params: { path: { node_id: nodeId, upid: upid ?? "" } } })),
    enabled: upid !== null,
    refetchInterval: (query) => (query.state.data?.status === "stopped" ? false : 1000),
  });
  const finished = task.data?.status === "stopped";
  useEffect(() => {
    if (finished && task.data?.ok) void queryClient.invalidateQueries({ queryKey: ["nodes", nodeId, "os-templates"] });
  }, [finished, task.data?.ok, nodeId, queryClient]);

  if (downloadable.length === 0) return null;
  const running = upid !== null && !finished;
  return (
    <Stack gap="xs">
      <Text size="sm" fw={600}>Download an OS template</Text>
      <Group align="flex-end" gap="xs" wrap="wrap">
        <Select
          label="Available to download"
          data={sorted.map((d) => ({ value: d.template, label: d.template }))}
          value={choice}
          onChange={setChoice}
          searchable
          style={{ flex: "1 1 240px" }}
        />
        <Select
          label="Download to storage"
          data={(storages.data ?? []).map((s) => s.storage)}
          value={targetStorage}
          onChange={setStorage}
          placeholder={storages.isPending ? "Loading…" : "No template storage"}
          style={{ flex: "0 1 180px" }}
        />
        <Button variant="light" onClick={() => start.mutate()} loading={start.isPending || running} disabled={!choice || !targetStorage}>
          Download
        </Button>
      </Group>
      {start.isError && <Alert color="red" role="alert">{errorMessage(start.error)}</Alert>}
      {upid && (
        <Alert color={!finished ? "blue" : task.data?.ok ? "green" : "red"} title={!finished ? "Downloading…" : task.data?.ok ? "Download finished" : "Download failed"}>
          <Group gap="xs">
            {!finished && <Loader size="xs" aria-label="Downloading" />}
            <Text size="xs" c="dimmed" style={{ wordBreak: "break-all" }}>{upid}</Text>
          </Group>
          {task.data && task.data.log_tail.length > 0 && <Code block mt="xs">{task.data.log_tail.slice(-5).join("\n")}</Code>}
          {task.isError && <Text size="sm" c="red">{errorMessage(task.error)}</Text>}
        </Alert>
      )}
    </Stack>
  );
}
