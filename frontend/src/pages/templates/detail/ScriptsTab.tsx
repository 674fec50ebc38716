// Scripts (in run order) and hooks, syntax-highlighted.
import { Badge, Group, Stack, Text, Title } from "@mantine/core";

import type { TemplateDetail } from "../api";
import { CodeBlock } from "../components/CodeBlock";
import { languageOf } from "../components/highlight";

interface Shown {
  path: string;
  content: string | null;
  encoding: string;
}

export function FileContent({ file }: { file: Shown }) {
  if (file.content === null) return <Text size="sm" c="dimmed">Content not included (too large).</Text>;
  if (file.encoding === "base64") return <Text size="sm" c="dimmed">Binary file.</Text>;
  return <CodeBlock code={file.content} language={languageOf(file.path, file.content)} label={file.path} />;
}

export function ScriptsTab({ template }: { template: TemplateDetail }) {
  const scripts = [...template.scripts].sort((a, b) => a.order - b.order);
  return (
    <Stack gap="lg">
      {scripts.length === 0 && <Text c="dimmed">This template has no scripts.</Text>}
      {scripts.map((script, index) => (
        <Stack key={script.path} gap="xs">
          <Group gap="xs">
            <Badge variant="light" aria-label={`Step ${index + 1}`}>
              {index + 1}
            </Badge>
            <Title order={3} size="h5" ff="monospace">
              {script.name}
            </Title>
            <Text size="xs" c="dimmed">
              mode {script.mode} · {script.size} bytes
            </Text>
          </Group>
          <FileContent file={script} />
        </Stack>
      ))}
      {template.hooks.length > 0 && (
        <>
          <Title order={3} size="h4">
            Hooks
          </Title>
          {template.hooks.map((hook) => (
            <Stack key={`${hook.event}-${hook.path}`} gap="xs">
              <Group gap="xs">
                <Badge variant="light" color="grape">
                  {hook.event}
                </Badge>
                <Text ff="monospace" fw={600} size="sm">
                  {hook.name}
                </Text>
                <Text size="xs" c="dimmed">
                  runs on the {hook.target}
                </Text>
              </Group>
              <FileContent file={hook} />
            </Stack>
          ))}
        </>
      )}
    </Stack>
  );
}
