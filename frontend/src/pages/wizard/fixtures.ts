// API answers for the wizard tests.
export const templatesPage = {
  items: [
    {
      name: "web",
      description: "A web server",
      os_template: "debian-12-standard",
      current_revision: 2,
      content_hash: "h",
      origin: "dashboard",
      folder: null,
      archived_at: null,
      created_at: "2026-01-01T10:00:00Z",
      updated_at: "2026-01-01T10:00:00Z",
      tags: [],
      buckets: [],
    },
  ],
  total: 1,
  limit: 500,
  offset: 0,
};

export const deployDefaults = {
  template: "web",
  revision: 2,
  content_hash: "h",
  description: "A web server",
  hostname: "web",
  os_template: "debian-12-standard",
  os_volid: null,
  container: {
    cores: 2,
    memory: 1024,
    swap: 512,
    disk: 8,
    unprivileged: true,
    onboot: false,
    features: {},
    network: { bridge: "vmbr0", ip: "dhcp", gateway: null, ip6: "none", gateway6: null, vlan: null, firewall: false, mtu: null },
    dns: { servers: [], search_domain: null },
  },
  inputs: [
    { name: "admin_user", type: "string", default: "admin", required: true, secret: false, description: "Login name" },
    { name: "db_password", type: "password", default: "********", required: false, secret: true, generate: true },
  ],
  services: [],
  credentials: ["admin_password"],
  packages: ["nginx"],
  scripts: ["setup.sh"],
};

export const node = {
  id: "n1",
  name: "pve-a",
  pve_node: "pve1",
  api_url: "https://pve-a:8006",
  created_at: "2026-01-01T10:00:00Z",
  updated_at: "2026-01-01T10:00:00Z",
  has_ssh_private_key: true,
  has_token_secret: true,
  last_test_at: null,
  last_test_ok: null,
  pve_version: null,
  ssh_host: null,
  ssh_host_key: null,
  ssh_port: 22,
};

export const storages = [
  { storage: "local-lvm", type: "lvmthin", content: ["rootdir"], shared: false, active: true, total: 100, used: 10, avail: 90, supports_containers: true, supports_templates: false },
];

export const osTemplates = {
  on_storage: [{ volid: "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst", storage: "local", file: "debian-12-standard_12.7-1_amd64.tar.zst", size: 123456789, ctime: 1 }],
  downloadable: [],
};

export const bridges = [{ iface: "vmbr0", type: "bridge", active: true, cidr: "10.0.0.2/24", gateway: "10.0.0.1", vlan_aware: false, comments: null }];

export const plan = {
  template: { name: "web", revision: 2, revision_id: "r2", content_hash: "h" },
  node: { id: "n1", name: "pve-a", pve_node: "pve1" },
  hostname: "web-1",
  vmid: null,
  suggested_vmid: 105,
  ostemplate: "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
  rootfs_storage: "local-lvm",
  pve_params: { hostname: "web-1", cores: 4, memory: 1024, password: "********" },
  files: [],
  packages: [{ name: "nginx", spec: "nginx", sources: ["extra"] }],
  scripts: [{ name: "setup.sh", path: "scripts/setup.sh", sha256: "x" }],
  hooks: [],
  steps: [
    { phase: "create", kind: "create", name: "pct create", target: "host" },
    { phase: "provision", kind: "script", name: "setup.sh", target: "container" },
  ],
  inputs: { admin_user: "admin", db_password: "********" },
  secret_inputs: ["db_password"],
  services: [],
  credentials: ["admin_password"],
  on_failure: "keep",
  warnings: [],
};
