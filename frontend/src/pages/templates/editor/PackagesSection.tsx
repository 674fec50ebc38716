// Packages: buckets (from the API) plus extra Debian packages.
import { Alert, MultiSelect, TagsInput, Text } from "@mantine/core";

import { errorMessage } from "../../../api/client";
import { useBuckets } from "../api";
import { Section } from "./Section";
import type { EditorForm } from "./SettingsSections";

export function PackagesSection({ form }: { form: EditorForm }) {
  const buckets = useBuckets();
  const chosen = form.values.packages.buckets;
  const known = (buckets.data?.items ?? []).map((bucket) => ({
    value: bucket.name,
    label: bucket.description ? `${bucket.name} — ${bucket.description}` : bucket.name,
  }));
  // A bucket the template names but the server no longer has must stay visible (and removable).
  for (const name of chosen) if (!known.some((b) => b.value === name)) known.push({ value: name, label: `${name} (missing)` });
  return (
    <Section title="Packages">
      {buckets.isError && (
        <Alert color="orange" title="Buckets could not be loaded">
          {errorMessage(buckets.error)}
        </Alert>
      )}
      <MultiSelect
        label="Buckets"
        description="Named package lists shared between templates"
        placeholder={buckets.isPending ? "Loading buckets…" : "Pick buckets"}
        data={known}
        searchable
        clearable
        {...form.getInputProps("packages.buckets")}
      />
      <TagsInput
        label="Extra packages"
        description="Further Debian packages, e.g. nginx or curl=7.88.1-10; press Enter after each"
        {...form.getInputProps("packages.extra")}
      />
      <Text size="xs" c="dimmed">
        The resolved package list is shown on the template's Packages tab after saving.
      </Text>
    </Section>
  );
}
