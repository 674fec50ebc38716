// The live log: windowed (only the rows in view are in the DOM, so 5,000+ lines stay fast), follows new lines
// while the view is at the bottom, pauses when the user scrolls up, and "Jump to latest" resumes.
import { Button, Group, Paper, Text } from "@mantine/core";
import { IconArrowDown } from "@tabler/icons-react";
import { type CSSProperties, useCallback, useLayoutEffect, useRef, useState } from "react";

import { isAtBottom, type LineKind, type LogLine, visibleWindow } from "./logLines";

export const ROW_HEIGHT = 20;
const DEFAULT_VIEWPORT = 420;

const COLORS: Record<LineKind, string | undefined> = {
  out: undefined,
  err: "var(--mantine-color-red-text)",
  info: "var(--mantine-color-dimmed)",
  phase: "var(--mantine-color-blue-text)",
  ok: "var(--mantine-color-green-text)",
  fail: "var(--mantine-color-red-text)",
};

const rowStyle: CSSProperties = { height: ROW_HEIGHT, lineHeight: `${ROW_HEIGHT}px`, whiteSpace: "pre" };

export interface LogViewProps {
  lines: LogLine[];
  /** Bumped whenever `lines` grew (the array is appended in place). */
  version: number;
  label?: string;
}

export function LogView({ lines, version, label = "Deployment log" }: LogViewProps) {
  const ref = useRef<HTMLDivElement>(null);
  const followingRef = useRef(true);
  const [following, setFollowing] = useState(true);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewport, setViewport] = useState(DEFAULT_VIEWPORT);

  const onScroll = useCallback(() => {
    const el = ref.current;
    if (!el) return;
    const atBottom = isAtBottom(el.scrollTop, el.clientHeight, el.scrollHeight);
    followingRef.current = atBottom;
    setFollowing(atBottom);
    setScrollTop(el.scrollTop);
    if (el.clientHeight > 0) setViewport(el.clientHeight);
  }, []);

  const toBottom = useCallback(() => {
    const el = ref.current;
    if (!el) return;
    el.scrollTop = el.scrollHeight;
    setScrollTop(el.scrollTop);
  }, []);

  // New lines: stay at the bottom while following (before paint, so the window shows the last rows).
  useLayoutEffect(() => {
    if (ref.current && ref.current.clientHeight > 0) setViewport(ref.current.clientHeight);
    if (followingRef.current) toBottom();
  }, [version, lines.length, toBottom]);

  const jumpToLatest = () => {
    followingRef.current = true;
    setFollowing(true);
    toBottom();
    ref.current?.focus();
  };

  const { start, end } = visibleWindow(scrollTop, viewport, ROW_HEIGHT, lines.length);
  const rows = lines.slice(start, end);

  return (
    <Paper withBorder radius="sm" pos="relative">
      <div
        ref={ref}
        role="log"
        aria-label={label}
        aria-live="off"
        tabIndex={0}
        onScroll={onScroll}
        style={{ height: "min(60vh, 480px)", overflow: "auto", position: "relative", fontSize: 12 }}
        data-following={following ? "true" : "false"}
      >
        <div style={{ height: Math.max(lines.length * ROW_HEIGHT, ROW_HEIGHT), position: "relative" }}>
          <div
            style={{ position: "absolute", top: start * ROW_HEIGHT, left: 0, minWidth: "100%", padding: "0 8px" }}
            className="lxcm-log-rows"
          >
            {lines.length === 0 ? (
              <Text size="xs" c="dimmed" style={rowStyle}>
                Waiting for output…
              </Text>
            ) : (
              rows.map((line) => (
                <div key={line.key} style={{ ...rowStyle, color: COLORS[line.kind] }} data-kind={line.kind}>
                  <span style={{ color: "var(--mantine-color-dimmed)", fontFamily: "var(--mantine-font-family-monospace)" }}>
                    {line.time.padEnd(9, " ")}
                  </span>
                  <span style={{ fontFamily: "var(--mantine-font-family-monospace)" }}>{line.text}</span>
                </div>
              ))
            )}
          </div>
        </div>
      </div>
      <Group justify="space-between" px="sm" py={4} gap="xs" wrap="wrap">
        <Text size="xs" c="dimmed" aria-live="polite">
          {lines.length.toLocaleString()} lines · {following ? "following new lines" : "paused (scrolled up)"}
        </Text>
        {!following && (
          <Button size="compact-xs" variant="light" leftSection={<IconArrowDown size={14} aria-hidden />} onClick={jumpToLatest}>
            Jump to latest
          </Button>
        )}
      </Group>
    </Paper>
  );
}
