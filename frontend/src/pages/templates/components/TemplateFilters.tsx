// Search box (debounced) and filters of the templates browser.
import { Button, Select, SimpleGrid, TextInput } from "@mantine/core";
import { useDebouncedCallback } from "@mantine/hooks";
import { IconSearch } from "@tabler/icons-react";
import { useEffect, useState } from "react";

import type { TemplateQuery } from "../api";
import { useBuckets } from "../api";

type FilterKey = "q" | "tag" | "os" | "bucket" | "origin" | "sort";

const SORT_OPTIONS = [
  { value: "name", label: "Name (A–Z)" },
  { value: "-name", label: "Name (Z–A)" },
  { value: "-updated_at", label: "Recently updated" },
  { value: "updated_at", label: "Least recently updated" },
  { value: "-created_at", label: "Newest" },
  { value: "created_at", label: "Oldest" },
];

const ORIGIN_OPTIONS = [
  { value: "filesystem", label: "Filesystem" },
  { value: "dashboard", label: "Dashboard" },
  { value: "imported", label: "Imported" },
];

/** A text input that shows what is typed at once and reports it after a pause. */
function DebouncedInput({
  label,
  value,
  onChange,
  placeholder,
  icon,
}: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  placeholder?: string;
  icon?: React.ReactNode;
}) {
  const [text, setText] = useState(value);
  const report = useDebouncedCallback(onChange, 300);
  // Follow outside changes (clear filters, back button).
  useEffect(() => setText(value), [value]);
  return (
    <TextInput
      label={label}
      placeholder={placeholder}
      leftSection={icon}
      value={text}
      onChange={(event) => {
        setText(event.currentTarget.value);
        report(event.currentTarget.value.trim());
      }}
    />
  );
}

export function TemplateFilters({
  query,
  setFilter,
  filtered,
  clear,
}: {
  query: TemplateQuery;
  setFilter: (key: FilterKey, value: string | null) => void;
  filtered: boolean;
  clear: () => void;
}) {
  const buckets = useBuckets();
  const bucketOptions = (buckets.data?.items ?? []).map((bucket) => bucket.name);
  if (query.bucket && !bucketOptions.includes(query.bucket)) bucketOptions.push(query.bucket);

  return (
    <SimpleGrid cols={{ base: 1, xs: 2, md: 3, lg: 6 }} spacing="sm" mb="md">
      <DebouncedInput
        label="Search templates"
        placeholder="Name, description or tag"
        value={query.q ?? ""}
        onChange={(value) => setFilter("q", value)}
        icon={<IconSearch size={16} aria-hidden />}
      />
      <DebouncedInput label="Tag" placeholder="e.g. web" value={query.tag ?? ""} onChange={(v) => setFilter("tag", v)} />
      <DebouncedInput
        label="OS template"
        placeholder="e.g. debian-12-standard"
        value={query.os ?? ""}
        onChange={(v) => setFilter("os", v)}
      />
      <Select
        label="Bucket"
        placeholder="Any bucket"
        data={bucketOptions}
        value={query.bucket || null}
        onChange={(v) => setFilter("bucket", v)}
        clearable
        searchable
      />
      <Select
        label="Origin"
        placeholder="Any origin"
        data={ORIGIN_OPTIONS}
        value={query.origin ?? null}
        onChange={(v) => setFilter("origin", v)}
        clearable
      />
      <Select
        label="Sort by"
        data={SORT_OPTIONS}
        value={query.sort ?? "name"}
        onChange={(v) => setFilter("sort", v === "name" ? null : v)}
        allowDeselect={false}
      />
      {filtered && (
        <Button variant="subtle" onClick={clear} style={{ alignSelf: "end" }}>
          Clear filters
        </Button>
      )}
    </SimpleGrid>
  );
}
