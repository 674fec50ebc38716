// Filters of GET /audit: action prefix, actor, outcome and a time range.
import { Button, Select, SimpleGrid, TextInput } from "@mantine/core";

import { useUserNames } from "./useUserNames";

export interface AuditFilterValues {
  action: string;
  actorId: string | null;
  outcome: string | null;
  since: string; // datetime-local value, local time
  until: string;
}

export const NO_FILTERS: AuditFilterValues = { action: "", actorId: null, outcome: null, since: "", until: "" };

/** datetime-local ("2026-01-02T10:30") is local time; the API wants an instant. */
export function toInstant(local: string): string | undefined {
  if (!local) return undefined;
  const date = new Date(local);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

function DateTimeInput({ label, value, onChange }: { label: string; value: string; onChange: (value: string) => void }) {
  return (
    <TextInput label={label} type="datetime-local" value={value} onChange={(event) => onChange(event.currentTarget.value)} />
  );
}

interface Props {
  value: AuditFilterValues;
  onChange: (value: AuditFilterValues) => void;
}

export function AuditFilters({ value, onChange }: Props) {
  const users = useUserNames();
  const set = (patch: Partial<AuditFilterValues>) => onChange({ ...value, ...patch });
  const active = JSON.stringify(value) !== JSON.stringify(NO_FILTERS);

  return (
    <SimpleGrid cols={{ base: 1, xs: 2, md: 5 }} spacing="sm" verticalSpacing="sm">
      <TextInput
        label="Action starts with"
        placeholder="e.g. auth. or node.create"
        value={value.action}
        onChange={(event) => set({ action: event.currentTarget.value })}
      />
      <Select
        label="Actor"
        placeholder="Anyone"
        searchable
        clearable
        data={(users.data?.items ?? []).map((user) => ({ value: user.id, label: user.username }))}
        value={value.actorId}
        onChange={(actorId) => set({ actorId })}
      />
      <Select
        label="Outcome"
        placeholder="Any"
        clearable
        data={[
          { value: "success", label: "Success" },
          { value: "failure", label: "Failure" },
          { value: "denied", label: "Denied" },
        ]}
        value={value.outcome}
        onChange={(outcome) => set({ outcome })}
      />
      <DateTimeInput label="From" value={value.since} onChange={(since) => set({ since })} />
      <DateTimeInput label="Until" value={value.until} onChange={(until) => set({ until })} />
      {active && (
        <Button variant="subtle" onClick={() => onChange(NO_FILTERS)} style={{ alignSelf: "end" }}>
          Clear filters
        </Button>
      )}
    </SimpleGrid>
  );
}
