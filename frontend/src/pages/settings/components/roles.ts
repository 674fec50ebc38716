import type { Schemas } from "../../../api/client";

export type Role = Schemas["Role"];

export const ROLES: { value: Role; label: string; help: string }[] = [
  { value: "admin", label: "Admin", help: "Everything: nodes, users, tokens of others, the audit log; every node." },
  {
    value: "operator",
    label: "Operator",
    help: "Creates and edits templates and buckets, deploys containers on the nodes granted to them.",
  },
  { value: "viewer", label: "Viewer", help: "Read-only: browses templates, buckets and deployments of granted nodes." },
];

export const ROLE_COLOR: Record<Role, string> = { admin: "red", operator: "indigo", viewer: "gray" };
