// Small API answers shared by the template page tests.
import type { TemplateDetail, TemplateSummary } from "../api";

export function summary(name: string, extra: Partial<TemplateSummary> = {}): TemplateSummary {
  return {
    name,
    description: `${name} description`,
    tags: ["web"],
    os_template: "debian-12-standard",
    origin: "filesystem",
    status: "active",
    folder: name,
    current_revision: 1,
    content_hash: "abc",
    buckets: [],
    created_at: "2026-01-01T00:00:00Z",
    updated_at: "2026-01-01T00:00:00Z",
    archived_at: null,
    ...extra,
  };
}

export function page(items: TemplateSummary[], total = items.length) {
  return { items, total, limit: 24, offset: 0 };
}

export const emptyBuckets = { items: [], total: 0, limit: 500, offset: 0 };

export function detail(name: string, extra: Partial<TemplateDetail> = {}): TemplateDetail {
  return {
    ...summary(name),
    etag: '"2-abcdef"',
    writable: true,
    revision_author: "admin",
    revision_message: "edited",
    revision_created_at: "2026-01-02T00:00:00Z",
    current_revision: 2,
    manifest: {
      format: 1,
      name,
      description: `${name} description`,
      tags: ["web"],
      os: { template: "debian-12-standard" },
      scripts: ["10-install.sh"],
      credentials: [],
    },
    manifest_yaml: `format: 1\nname: ${name}\n`,
    readme: null,
    config: { os: { template: "debian-12-standard" }, container: { cores: 2, memory: 1024 } },
    scripts: [
      {
        path: "scripts/10-install.sh",
        name: "10-install.sh",
        order: 0,
        content: "#!/bin/bash\necho hi\n",
        encoding: "utf-8",
        sha256: "x",
        mode: "0755",
        size: 20,
      },
    ],
    hooks: [],
    files: [],
    inputs: [],
    services: [],
    credentials: [],
    packages: [],
    missing_buckets: [],
    package_conflicts: [],
    ...extra,
  } as TemplateDetail;
}
