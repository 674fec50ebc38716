// /deployments/:id — phases with durations, the live log (SSE, resumable), cancel/retry, and the result.
import { Alert, Anchor, Badge, Grid, Group, Stack, Text, Title } from "@mantine/core";
import { IconAlertTriangle, IconCircleCheck, IconPlugConnectedX } from "@tabler/icons-react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Link, useParams } from "react-router";

import { api, ApiError, errorMessage, unwrap } from "../../api/client";
import { useAuth } from "../../auth/AuthContext";
import { PageHeader } from "../../components/PageHeader";
import { ErrorState, LoadingState } from "../../components/PageState";
import { DeploymentActions } from "./DeploymentActions";
import { formatWhen, statusColor, TERMINAL } from "./format";
import { appendLines, type LogLine } from "./logLines";
import { LogView } from "./LogView";
import { PhaseTimeline } from "./PhaseTimeline";
import { ResultPanel } from "./ResultPanel";
import type { DeploymentEvent } from "./sse";
import { useEventStream } from "./useEventStream";

const STREAM_TEXT = {
  connecting: "Connecting to the live log…",
  open: "Live",
  reconnecting: "Connection lost; reconnecting…",
  ended: "Log complete",
  error: "Live log unavailable",
} as const;

export default function ProgressPage() {
  const { id = "" } = useParams();
  const { canWrite } = useAuth();
  const queryClient = useQueryClient();
  // A retry starts a new stream (the old one ended at the failure's result event).
  const [streamKey, setStreamKey] = useState(0);

  const deployment = useQuery({
    queryKey: ["deployments", id],
    queryFn: () => unwrap(api.GET("/api/v1/deployments/{deployment_id}", { params: { path: { deployment_id: id } } })),
    retry: false,
  });

  // Phase, status and result events change the record: refetch it, at most every 500 ms.
  const refetchTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const scheduleRefetch = useCallback(() => {
    if (refetchTimer.current) return;
    refetchTimer.current = setTimeout(() => {
      refetchTimer.current = null;
      void queryClient.invalidateQueries({ queryKey: ["deployments", id] });
    }, 500);
  }, [id, queryClient]);
  useEffect(() => () => {
    if (refetchTimer.current) clearTimeout(refetchTimer.current);
  }, []);
  const onBatch = useCallback(
    (events: DeploymentEvent[]) => {
      if (events.some((event) => event.type !== "log")) scheduleRefetch();
    },
    [scheduleRefetch],
  );

  const streamId = deployment.isSuccess ? `${id}` : undefined;
  const stream = useEventStream(streamId, onBatch, streamKey);

  // Log rows derived incrementally from the growing event array.
  const linesRef = useRef<{ key: number; lines: LogLine[]; seen: number }>({ key: -1, lines: [], seen: 0 });
  const lines = useMemo(() => {
    const cache = linesRef.current;
    if (cache.key !== streamKey || stream.events.length < cache.seen) {
      linesRef.current = { key: streamKey, lines: [], seen: 0 };
    }
    const current = linesRef.current;
    if (stream.events.length > current.seen) {
      appendLines(current.lines, stream.events.slice(current.seen));
      current.seen = stream.events.length;
    }
    return current.lines;
  }, [stream.version, stream.events, streamKey]);

  useEffect(() => {
    if (stream.state === "ended") scheduleRefetch();
  }, [stream.state, scheduleRefetch]);

  if (deployment.isPending) return <LoadingState label="Loading deployment" />;
  if (deployment.isError) {
    const missing = deployment.error instanceof ApiError && deployment.error.status === 404;
    return (
      <>
        <PageHeader title="Deployment" />
        {missing ? (
          <Alert color="orange" title="Deployment not found" icon={<IconAlertTriangle aria-hidden />}>
            It does not exist, or it runs on a node you have no access to.{" "}
            <Anchor component={Link} to="/deployments">All deployments</Anchor>
          </Alert>
        ) : (
          <ErrorState error={deployment.error} onRetry={() => void deployment.refetch()} />
        )}
      </>
    );
  }

  const d = deployment.data;
  const finished = TERMINAL.has(d.status);
  return (
    <>
      <PageHeader
        title={`Deployment ${d.hostname ?? d.template_name}`}
        description={
          <>
            {d.template_name} rev {d.template_revision} on {d.node_name}
            {d.vmid != null && <> · VMID {d.vmid}</>} · started {formatWhen(d.created_at)}
          </>
        }
        actions={canWrite && <DeploymentActions deployment={d} onRetried={() => setStreamKey((k) => k + 1)} />}
      />
      <Stack gap="md">
        <Group gap="sm" wrap="wrap">
          <Badge size="lg" color={statusColor(d.status)} aria-label={`Status: ${d.status}`}>
            {d.status}
          </Badge>
          {d.cancel_requested && !finished && <Text size="sm" c="orange">Cancellation requested</Text>}
          <Text size="sm" c={stream.state === "reconnecting" || stream.state === "error" ? "orange" : "dimmed"} aria-live="polite">
            {STREAM_TEXT[stream.state]}
          </Text>
        </Group>
        {d.status === "succeeded" && (
          <Alert color="green" title="Deployment succeeded" icon={<IconCircleCheck aria-hidden />} role="status">
            The container {d.hostname} is up{d.ip_address ? ` at ${d.ip_address}` : ""}.
          </Alert>
        )}
        {d.status === "failed" && (
          <Alert color="red" title="Deployment failed" icon={<IconAlertTriangle aria-hidden />} role="alert">
            <Text size="sm" style={{ wordBreak: "break-word" }}>{d.error_message ?? "The deployment failed."}</Text>
            {d.error_code && <Text size="xs" c="dimmed">Code: {d.error_code}</Text>}
          </Alert>
        )}
        {d.status === "cancelled" && (
          <Alert color="orange" title="Deployment cancelled" icon={<IconAlertTriangle aria-hidden />}>
            {d.error_message ?? "It was cancelled before it finished."}
          </Alert>
        )}
        {stream.state === "error" && (
          <Alert color="orange" title="The live log stopped" icon={<IconPlugConnectedX aria-hidden />}>
            {errorMessage(stream.error)}
          </Alert>
        )}
        <Grid gap="md">
          <Grid.Col span={{ base: 12, md: 4 }}>
            <Title order={2} size="h4" mb="xs">Phases</Title>
            <PhaseTimeline phases={d.phases} live={!finished} />
          </Grid.Col>
          <Grid.Col span={{ base: 12, md: 8 }}>
            <Title order={2} size="h4" mb="xs">Log</Title>
            <LogView lines={lines} version={stream.version} />
          </Grid.Col>
        </Grid>
        {d.status === "succeeded" && <ResultPanel deployment={d} />}
        {d.warnings.length > 0 && (
          <Alert color="yellow" title="Warnings">
            {d.warnings.map((warning) => <Text key={warning} size="sm">{warning}</Text>)}
          </Alert>
        )}
      </Stack>
    </>
  );
}
