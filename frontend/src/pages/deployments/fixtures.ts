// Deployment records for the page tests.
import type { Schemas } from "../../api/client";

const PHASES = ["create", "start", "provision", "verify", "finalize"];

export function deploymentDetail(overrides: Partial<Schemas["DeploymentDetail"]> = {}): Schemas["DeploymentDetail"] {
  const status = overrides.status ?? "succeeded";
  return {
    id: "d1",
    status,
    phase: "finalize",
    template_name: "web",
    template_revision: 2,
    template_hash: "h",
    node_id: "n1",
    node_name: "pve-a",
    hostname: "web-1",
    vmid: 123,
    ip_address: "10.0.0.5",
    cancel_requested: false,
    created_by: "u-1",
    created_at: "2026-01-01T10:00:00Z",
    updated_at: "2026-01-01T10:01:00Z",
    started_at: "2026-01-01T10:00:01Z",
    finished_at: status === "succeeded" ? "2026-01-01T10:01:00Z" : null,
    error_code: null,
    error_message: null,
    on_failure: "keep",
    attempts: 1,
    phases: PHASES.map((name) => ({
      name,
      status: status === "succeeded" ? "succeeded" : "pending",
      started_at: null,
      finished_at: null,
      duration_s: status === "succeeded" ? 1.5 : null,
      attempts: 1,
      error: null,
    })),
    request: {},
    inputs: {},
    plan: {},
    warnings: [],
    links: status === "succeeded" ? [{ name: "Admin UI", url: "https://10.0.0.5:8443/" }] : [],
    container_id: status === "succeeded" ? "c1" : null,
    last_event_seq: 3,
    ...overrides,
  };
}
