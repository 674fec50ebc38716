// Scripts (ordered: they run top to bottom) and files copied into the container.
import { SimpleGrid, Text, Textarea, TextInput } from "@mantine/core";

import { rowKey } from "./model";
import { AddRowButton, RowCard } from "./RowCard";
import { Section } from "./Section";
import type { EditorForm } from "./SettingsSections";

const mono = { input: { fontFamily: "var(--mantine-font-family-monospace)" } };

export function ScriptsSection({ form }: { form: EditorForm }) {
  const scripts = form.values.scripts;
  return (
    <Section title="Scripts">
      <Text size="sm" c="dimmed">
        Run inside the container in this order, as root.
      </Text>
      {scripts.map((script, index) => {
        const n = index + 1;
        return (
          <RowCard
            key={script.key}
            title={`Script ${n}`}
            index={index}
            count={scripts.length}
            onMove={(from, to) => form.reorderListItem("scripts", { from, to })}
            onRemove={() => form.removeListItem("scripts", index)}
          >
            <TextInput
              label={`Script ${n} file name`}
              description="Saved as scripts/<name>, e.g. 10-install.sh"
              placeholder="10-install.sh"
              styles={mono}
              {...form.getInputProps(`scripts.${index}.name`)}
            />
            <Textarea
              label={`Script ${n} content`}
              autosize
              minRows={6}
              maxRows={30}
              spellCheck={false}
              styles={mono}
              {...form.getInputProps(`scripts.${index}.content`)}
            />
          </RowCard>
        );
      })}
      <AddRowButton
        label="Add script"
        onClick={() =>
          form.insertListItem("scripts", {
            key: rowKey(),
            name: `${String((scripts.length + 1) * 10).padStart(2, "0")}-setup.sh`,
            content: "#!/bin/bash\nset -euo pipefail\n\n",
            mode: "0755",
          })
        }
      />
    </Section>
  );
}

export function FilesSection({ form }: { form: EditorForm }) {
  const files = form.values.files;
  return (
    <Section title="Files">
      <Text size="sm" c="dimmed">
        Copied into the container before the scripts run.
      </Text>
      {files.map((file, index) => {
        const n = index + 1;
        return (
          <RowCard
            key={file.key}
            title={`File ${n}`}
            index={index}
            count={files.length}
            onRemove={() => form.removeListItem("files", index)}
          >
            <SimpleGrid cols={{ base: 1, sm: 2 }}>
              <TextInput
                label={`File ${n} source`}
                description="Path under files/ in the template"
                styles={mono}
                {...form.getInputProps(`files.${index}.source`)}
              />
              <TextInput
                label={`File ${n} destination`}
                description="Absolute path in the container"
                styles={mono}
                {...form.getInputProps(`files.${index}.destination`)}
              />
              <TextInput label={`File ${n} owner`} {...form.getInputProps(`files.${index}.owner`)} />
              <TextInput label={`File ${n} mode`} {...form.getInputProps(`files.${index}.mode`)} />
            </SimpleGrid>
            {file.encoding === "base64" ? (
              <Text size="sm" c="dimmed">
                Binary file: kept as it is.
              </Text>
            ) : (
              <Textarea
                label={`File ${n} content`}
                autosize
                minRows={3}
                maxRows={20}
                spellCheck={false}
                styles={mono}
                {...form.getInputProps(`files.${index}.content`)}
              />
            )}
          </RowCard>
        );
      })}
      <AddRowButton
        label="Add file"
        onClick={() =>
          form.insertListItem("files", {
            key: rowKey(),
            source: "",
            destination: "/",
            owner: "root:root",
            mode: "0644",
            content: "",
            encoding: "utf-8",
            diskMode: "0644",
          })
        }
      />
    </Section>
  );
}
