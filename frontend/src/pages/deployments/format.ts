// Shared display helpers of the deployment pages.
export const STATUS_COLOR: Record<string, string> = {
  pending: "gray",
  running: "blue",
  retrying: "yellow",
  succeeded: "green",
  failed: "red",
  cancelled: "orange",
  skipped: "gray",
};

export function statusColor(status: string): string {
  return STATUS_COLOR[status] ?? "gray";
}

export const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);

export function formatDuration(seconds: number | null | undefined): string {
  if (seconds == null || !Number.isFinite(seconds)) return "";
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${Math.round(seconds % 60)} s`;
}

export function formatWhen(iso: string | null | undefined): string {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}
