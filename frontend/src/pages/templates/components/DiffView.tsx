// A unified diff, line by line: +/- markers stay visible so the meaning never rests on colour alone.
import { Box, ScrollArea } from "@mantine/core";
import { memo } from "react";

export type DiffLineKind = "added" | "removed" | "hunk" | "header" | "context";

export function classifyDiffLine(line: string): DiffLineKind {
  if (line.startsWith("+++") || line.startsWith("---")) return "header";
  if (line.startsWith("@@")) return "hunk";
  if (line.startsWith("+")) return "added";
  if (line.startsWith("-")) return "removed";
  return "context";
}

const STYLE: Record<DiffLineKind, { bg?: string; color?: string; fw?: number }> = {
  added: { bg: "var(--mantine-color-green-light)", color: "var(--mantine-color-green-light-color)" },
  removed: { bg: "var(--mantine-color-red-light)", color: "var(--mantine-color-red-light-color)" },
  hunk: { color: "var(--mantine-color-blue-text)" },
  header: { color: "var(--mantine-color-dimmed)", fw: 600 },
  context: {},
};

export const DiffView = memo(function DiffView({ diff, label }: { diff: string; label: string }) {
  const lines = diff.endsWith("\n") ? diff.slice(0, -1).split("\n") : diff.split("\n");
  return (
    <ScrollArea.Autosize mah={600} type="auto">
      <Box component="pre" aria-label={label} m={0} ff="monospace" fz="sm" style={{ whiteSpace: "pre" }}>
        {lines.map((line, index) => {
          const kind = classifyDiffLine(line);
          const style = STYLE[kind];
          return (
            <Box
              key={index}
              data-diff={kind}
              px="xs"
              style={{ background: style.bg, color: style.color, fontWeight: style.fw }}
            >
              {line || " "}
            </Box>
          );
        })}
      </Box>
    </ScrollArea.Autosize>
  );
});
