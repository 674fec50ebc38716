// The template's typed inputs; secret ones are password fields (never pre-filled with a masked default).
import { NumberInput, PasswordInput, Select, SimpleGrid, Switch, TextInput } from "@mantine/core";

import { isSecretInput, type TemplateInput } from "./model";
import type { WizardForm } from "./types";

export function InputsFields({ form, inputs }: { form: WizardForm; inputs: TemplateInput[] }) {
  return (
    <SimpleGrid cols={{ base: 1, sm: 2 }}>
      {inputs.map((input) => {
        const path = `inputs.${input.name}`;
        const common = {
          label: input.name,
          description: input.description ?? undefined,
          withAsterisk: Boolean(input.required && input.default == null),
        };
        if (input.type === "bool") {
          return <Switch key={input.name} {...common} mt="md" {...form.getInputProps(path, { type: "checkbox" })} />;
        }
        if (input.type === "int") {
          return <NumberInput key={input.name} {...common} allowDecimal={false} min={input.min ?? undefined} max={input.max ?? undefined} {...form.getInputProps(path)} />;
        }
        if (input.type === "enum") {
          return (
            <Select
              key={input.name}
              {...common}
              data={input.choices ?? []}
              {...form.getInputProps(path)}
              onChange={(value) => form.setFieldValue(path, value ?? "")}
            />
          );
        }
        if (isSecretInput(input)) {
          const generated = input.default != null;
          return (
            <PasswordInput
              key={input.name}
              {...common}
              placeholder={generated ? "Leave empty for the template's default" : undefined}
              autoComplete="new-password"
              {...form.getInputProps(path)}
            />
          );
        }
        return <TextInput key={input.name} {...common} {...form.getInputProps(path)} />;
      })}
    </SimpleGrid>
  );
}
