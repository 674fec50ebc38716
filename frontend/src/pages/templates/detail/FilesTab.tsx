// Files copied into the container, each with its destination and, on demand, its content.
import { Accordion, Stack, Text } from "@mantine/core";

import type { TemplateDetail } from "../api";
import { FileContent } from "./ScriptsTab";

export function FilesTab({ template }: { template: TemplateDetail }) {
  if (template.files.length === 0) return <Text c="dimmed">This template copies no files.</Text>;
  return (
    <Accordion variant="separated" multiple>
      {template.files.map((file) => (
        <Accordion.Item key={file.path} value={file.path}>
          <Accordion.Control>
            <Stack gap={0}>
              <Text ff="monospace" size="sm" style={{ wordBreak: "break-all" }}>
                {file.source} → {file.destination}
              </Text>
              <Text size="xs" c="dimmed">
                {file.owner} · mode {file.file_mode} · {file.size} bytes
              </Text>
            </Stack>
          </Accordion.Control>
          <Accordion.Panel>
            <FileContent file={file} />
          </Accordion.Panel>
        </Accordion.Item>
      ))}
    </Accordion>
  );
}
