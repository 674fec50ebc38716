// Inputs (typed variables asked at deployment) and services (checked after provisioning).
import { Checkbox, Group, NumberInput, Select, SimpleGrid, TagsInput, Text, TextInput } from "@mantine/core";

import { INPUT_TYPES, PROTOCOLS, rowKey } from "./model";
import { AddRowButton, RowCard } from "./RowCard";
import { Section } from "./Section";
import type { EditorForm } from "./SettingsSections";

export function InputsSection({ form }: { form: EditorForm }) {
  const inputs = form.values.inputs;
  return (
    <Section title="Inputs">
      <Text size="sm" c="dimmed">
        Variables the user fills in at deployment; scripts see them as environment variables.
      </Text>
      {inputs.map((input, index) => {
        const n = index + 1;
        const secret = input.secret || input.type === "password";
        return (
          <RowCard
            key={input.key}
            title={`Input ${n}`}
            index={index}
            count={inputs.length}
            onMove={(from, to) => form.reorderListItem("inputs", { from, to })}
            onRemove={() => form.removeListItem("inputs", index)}
          >
            <SimpleGrid cols={{ base: 1, sm: 3 }}>
              <TextInput label={`Input ${n} name`} placeholder="admin_email" {...form.getInputProps(`inputs.${index}.name`)} />
              <Select
                label={`Input ${n} type`}
                data={[...INPUT_TYPES]}
                allowDeselect={false}
                {...form.getInputProps(`inputs.${index}.type`)}
              />
              {input.type === "bool" ? (
                <Select
                  label={`Input ${n} default`}
                  data={["true", "false"]}
                  clearable
                  {...form.getInputProps(`inputs.${index}.default`)}
                />
              ) : (
                <TextInput
                  label={`Input ${n} default`}
                  type={secret ? "password" : "text"}
                  autoComplete="off"
                  description={
                    input.hiddenDefault && input.default === ""
                      ? "A secret default is saved and hidden: leave empty to keep it, or type a new one"
                      : secret
                        ? "Hidden once saved; leave empty for none"
                        : undefined
                  }
                  {...form.getInputProps(`inputs.${index}.default`)}
                />
              )}
            </SimpleGrid>
            <TextInput label={`Input ${n} description`} {...form.getInputProps(`inputs.${index}.description`)} />
            {input.type === "enum" && (
              <TagsInput label={`Input ${n} choices`} {...form.getInputProps(`inputs.${index}.choices`)} />
            )}
            <Group gap="lg">
              <Checkbox label={`Input ${n} is secret`} {...form.getInputProps(`inputs.${index}.secret`, { type: "checkbox" })} />
              <Checkbox
                label={`Input ${n} is required`}
                {...form.getInputProps(`inputs.${index}.required`, { type: "checkbox" })}
              />
            </Group>
          </RowCard>
        );
      })}
      <AddRowButton
        label="Add input"
        onClick={() =>
          form.insertListItem("inputs", {
            key: rowKey(),
            name: "",
            type: "string",
            default: "",
            secret: false,
            required: false,
            description: "",
            choices: [],
          })
        }
      />
    </Section>
  );
}

export function ServicesSection({ form }: { form: EditorForm }) {
  const services = form.values.services;
  return (
    <Section title="Services">
      <Text size="sm" c="dimmed">
        What must be running after provisioning; web UIs become links on the deployment page.
      </Text>
      {services.map((service, index) => {
        const n = index + 1;
        return (
          <RowCard
            key={service.key}
            title={`Service ${n}`}
            index={index}
            count={services.length}
            onRemove={() => form.removeListItem("services", index)}
          >
            <SimpleGrid cols={{ base: 1, xs: 2, md: 5 }}>
              <TextInput label={`Service ${n} name`} {...form.getInputProps(`services.${index}.name`)} />
              <TextInput
                label={`Service ${n} systemd unit`}
                placeholder="nginx.service"
                {...form.getInputProps(`services.${index}.unit`)}
              />
              <NumberInput label={`Service ${n} port`} min={1} max={65535} {...form.getInputProps(`services.${index}.port`)} />
              <Select
                label={`Service ${n} protocol`}
                data={[...PROTOCOLS]}
                allowDeselect={false}
                {...form.getInputProps(`services.${index}.protocol`)}
              />
              <TextInput
                label={`Service ${n} web UI path`}
                placeholder="/"
                {...form.getInputProps(`services.${index}.web_ui`)}
              />
            </SimpleGrid>
          </RowCard>
        );
      })}
      <AddRowButton
        label="Add service"
        onClick={() =>
          form.insertListItem("services", { key: rowKey(), name: "", unit: "", port: "", protocol: "tcp", web_ui: "" })
        }
      />
    </Section>
  );
}
