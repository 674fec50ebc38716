// The five phases (create, start, provision, verify, finalize) with their status and duration.
import { Badge, Group, Text, Timeline } from "@mantine/core";
import { IconCheck, IconLoader2, IconPlayerPause, IconRefresh, IconX } from "@tabler/icons-react";
import { useEffect, useState } from "react";

import type { Schemas } from "../../api/client";
import { formatDuration, statusColor } from "./format";

type Phase = Schemas["PhaseOut"];

function icon(status: string) {
  if (status === "succeeded") return <IconCheck size={14} aria-hidden />;
  if (status === "failed" || status === "cancelled") return <IconX size={14} aria-hidden />;
  if (status === "running") return <IconLoader2 size={14} aria-hidden />;
  if (status === "retrying") return <IconRefresh size={14} aria-hidden />;
  return <IconPlayerPause size={14} aria-hidden />;
}

/** Seconds a phase took, or has taken so far while it runs. */
export function phaseSeconds(phase: Phase, now: number): number | null {
  if (phase.duration_s != null) return phase.duration_s;
  if (phase.started_at && (phase.status === "running" || phase.status === "retrying")) {
    const started = Date.parse(phase.started_at);
    return Number.isNaN(started) ? null : Math.max(0, (now - started) / 1000);
  }
  return null;
}

export function PhaseTimeline({ phases, live }: { phases: Phase[]; live: boolean }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!live) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [live]);

  let active = -1;
  phases.forEach((phase, index) => {
    if (phase.status !== "pending") active = index;
  });

  return (
    <Timeline active={active} bulletSize={24} lineWidth={2} aria-label="Deployment phases">
      {phases.map((phase) => {
        const seconds = phaseSeconds(phase, now);
        return (
          <Timeline.Item
            key={phase.name}
            bullet={icon(phase.status)}
            color={statusColor(phase.status)}
            title={
              <Group gap="xs" wrap="wrap">
                <Text fw={600} tt="capitalize">
                  {phase.name}
                </Text>
                <Badge size="sm" variant="light" color={statusColor(phase.status)}>
                  {phase.status}
                </Badge>
                {seconds != null && (
                  <Text size="xs" c="dimmed">
                    {formatDuration(seconds)}
                  </Text>
                )}
                {phase.attempts > 1 && (
                  <Text size="xs" c="dimmed">
                    {phase.attempts} attempts
                  </Text>
                )}
              </Group>
            }
          >
            {phase.error && (
              <Text size="sm" c="red" style={{ wordBreak: "break-word" }}>
                {phase.error}
              </Text>
            )}
          </Timeline.Item>
        );
      })}
    </Timeline>
  );
}
