// The editor's form values, how they come from a template, how they become the API body, and how the
// server's 422 paths land on the form's fields.
import type { ApiError } from "../../../api/client";
import type { TemplateDetail, TemplateWrite } from "../api";

export const SECRET_MASK = "********";
export const INPUT_TYPES = ["string", "int", "bool", "enum", "password"] as const;
export const PROTOCOLS = ["tcp", "udp", "http", "https"] as const;
export const OSTYPES = ["debian", "ubuntu", "alpine", "archlinux", "centos", "fedora", "opensuse", "unmanaged"];

export interface ScriptRow {
  key: string;
  name: string;
  content: string;
  mode: string;
}
export interface FileRow {
  key: string;
  source: string;
  destination: string;
  owner: string;
  mode: string;
  content: string;
  encoding: "utf-8" | "base64";
  diskMode: string;
}
export interface InputRow {
  key: string;
  name: string;
  type: (typeof INPUT_TYPES)[number];
  default: string;
  secret: boolean;
  required: boolean;
  description: string;
  choices: string[];
  /** A secret default is saved but the API only shows a mask; sending the mask back keeps the stored value. */
  hiddenDefault?: boolean;
  /** The input as loaded: settings the form does not edit (pattern, min, max, generate) are kept. */
  orig?: Record<string, unknown>;
}
export interface ServiceRow {
  key: string;
  name: string;
  unit: string;
  port: number | string;
  protocol: (typeof PROTOCOLS)[number];
  web_ui: string;
  orig?: Record<string, unknown>;
}

export interface EditorValues {
  name: string;
  description: string;
  tags: string[];
  os: { template: string; ostype: string | null };
  container: {
    cores: number | string;
    memory: number | string;
    swap: number | string;
    disk: number | string;
    unprivileged: boolean;
    onboot: boolean;
    features: { nesting: boolean; keyctl: boolean; fuse: boolean };
    network: { bridge: string; ip: string; ip6: string; gateway: string; vlan: number | string; firewall: boolean };
  };
  packages: { buckets: string[]; extra: string[] };
  scripts: ScriptRow[];
  files: FileRow[];
  inputs: InputRow[];
  services: ServiceRow[];
  message: string;
}

let counter = 0;
/** A stable React key for rows that can be reordered. */
export const rowKey = () => `row-${++counter}`;

export function emptyValues(): EditorValues {
  return {
    name: "",
    description: "",
    tags: [],
    os: { template: "debian-12-standard", ostype: null },
    container: {
      cores: 1,
      memory: 512,
      swap: 512,
      disk: 4,
      unprivileged: true,
      onboot: false,
      features: { nesting: false, keyctl: false, fuse: false },
      network: { bridge: "vmbr0", ip: "dhcp", ip6: "none", gateway: "", vlan: "", firewall: false },
    },
    packages: { buckets: [], extra: [] },
    scripts: [],
    files: [],
    inputs: [],
    services: [],
    message: "",
  };
}

type Json = Record<string, unknown>;
const obj = (value: unknown): Json => (value && typeof value === "object" ? (value as Json) : {});
const str = (value: unknown, fallback = ""): string => (typeof value === "string" ? value : fallback);

export function valuesFromDetail(detail: TemplateDetail): EditorValues {
  const m = detail.manifest as Json;
  const base = emptyValues();
  const container = obj(m.container);
  const net = obj(container.network);
  const features = obj(container.features);
  const packages = obj(m.packages);
  const filesByPath = new Map(detail.files.map((file) => [file.path, file]));
  return {
    name: detail.name,
    description: detail.description,
    tags: [...detail.tags],
    os: { template: detail.config.os.template, ostype: detail.config.os.ostype ?? null },
    container: {
      cores: (container.cores as number) ?? base.container.cores,
      memory: (container.memory as number) ?? base.container.memory,
      swap: (container.swap as number) ?? base.container.swap,
      disk: (container.disk as number) ?? base.container.disk,
      unprivileged: (container.unprivileged as boolean) ?? true,
      onboot: Boolean(container.onboot),
      features: { nesting: Boolean(features.nesting), keyctl: Boolean(features.keyctl), fuse: Boolean(features.fuse) },
      network: {
        bridge: str(net.bridge, "vmbr0"),
        ip: str(net.ip, "dhcp"),
        ip6: str(net.ip6, "none"),
        gateway: str(net.gateway),
        vlan: typeof net.vlan === "number" ? net.vlan : "",
        firewall: Boolean(net.firewall),
      },
    },
    packages: {
      buckets: [...((packages.buckets as string[]) ?? [])],
      extra: [...((packages.extra as string[]) ?? [])],
    },
    scripts: [...detail.scripts]
      .sort((a, b) => a.order - b.order)
      .map((s) => ({ key: rowKey(), name: s.name, content: s.content ?? "", mode: s.mode || "0755" })),
    files: detail.files.map((f) => ({
      key: rowKey(),
      source: f.source,
      destination: f.destination,
      owner: f.owner,
      mode: f.file_mode,
      content: filesByPath.get(f.path)?.content ?? "",
      encoding: f.encoding,
      diskMode: f.mode || "0644",
    })),
    inputs: detail.inputs.map((i) => ({
      key: rowKey(),
      name: i.name,
      type: i.type ?? "string",
      // A secret default comes back masked: left empty it is kept (the mask goes back), typed over it is replaced.
      default: i.default == null || i.default === SECRET_MASK ? "" : String(i.default),
      secret: Boolean(i.secret),
      required: Boolean(i.required),
      description: i.description ?? "",
      choices: i.choices ?? [],
      hiddenDefault: i.default === SECRET_MASK,
      orig: { ...i },
    })),
    services: detail.services.map((s) => ({
      key: rowKey(),
      name: s.name,
      unit: s.unit ?? "",
      port: s.port ?? "",
      protocol: s.protocol ?? "tcp",
      web_ui: s.web_ui ?? "",
      orig: { ...s },
    })),
    message: "",
  };
}

const num = (value: number | string): number => (typeof value === "number" ? value : Number(value));
const orNull = (value: string) => (value.trim() === "" ? null : value.trim());

function inputDefault(row: InputRow): string | number | boolean | null {
  if (row.default === "") return row.hiddenDefault ? SECRET_MASK : null; // the server keeps what it stores
  if (row.type === "int") return Number(row.default);
  if (row.type === "bool") return row.default === "true";
  return row.default;
}

/** The TemplateWrite body; keeps what the form does not edit (hooks, credentials, DNS, version…). */
export function buildBody(values: EditorValues, original?: TemplateDetail): TemplateWrite {
  const m = obj(original?.manifest);
  const container = obj(m.container);
  const manifest = {
    ...m,
    format: 1,
    name: values.name.trim(),
    description: values.description,
    tags: values.tags,
    os: { ...obj(m.os), template: values.os.template.trim(), ostype: values.os.ostype || null },
    container: {
      ...container,
      cores: num(values.container.cores),
      memory: num(values.container.memory),
      swap: num(values.container.swap),
      disk: num(values.container.disk),
      unprivileged: values.container.unprivileged,
      onboot: values.container.onboot,
      features: { ...values.container.features },
      network: {
        ...obj(container.network),
        bridge: values.container.network.bridge.trim(),
        ip: values.container.network.ip.trim(),
        ip6: values.container.network.ip6.trim(),
        gateway: orNull(values.container.network.gateway),
        vlan: values.container.network.vlan === "" ? null : num(values.container.network.vlan),
        firewall: values.container.network.firewall,
      },
    },
    packages: { buckets: values.packages.buckets, extra: values.packages.extra },
    scripts: values.scripts.map((s) => s.name.trim()),
    files: values.files.map((f) => ({ source: f.source.trim(), destination: f.destination, owner: f.owner, mode: f.mode })),
    inputs: values.inputs.map((i) => ({
      ...i.orig,
      name: i.name.trim(),
      type: i.type,
      default: inputDefault(i),
      secret: i.secret,
      required: i.required,
      description: orNull(i.description),
      choices: i.type === "enum" ? i.choices : null,
    })),
    services: values.services.map((s) => ({
      ...s.orig,
      name: s.name.trim(),
      unit: orNull(s.unit),
      port: s.port === "" ? null : num(s.port),
      protocol: s.protocol,
      web_ui: orNull(s.web_ui),
    })),
  };
  const files: NonNullable<TemplateWrite["files"]> = {};
  for (const s of values.scripts) files[`scripts/${s.name.trim()}`] = { content: s.content, encoding: "utf-8", mode: s.mode || "0755" };
  for (const f of values.files) files[`files/${f.source.trim()}`] = { content: f.content, encoding: f.encoding, mode: f.diskMode || "0644" };
  // Hooks and the README are not edited here: send them back unchanged.
  for (const hook of original?.hooks ?? []) {
    if (hook.content !== null) files[hook.path] = { content: hook.content, encoding: hook.encoding, mode: hook.mode };
  }
  if (original?.readme) files["README.md"] = { content: original.readme, encoding: "utf-8", mode: "0644" };
  return {
    manifest: manifest as unknown as TemplateWrite["manifest"],
    files,
    message: orNull(values.message),
  };
}

/**
 * Server paths → form paths. Pydantic answers "manifest.container.cores" / "manifest.inputs.0.name";
 * the template checker answers ["<name>/template.yaml", "scripts[0]"]; file problems name the file.
 */
export function formErrors(error: ApiError, values: EditorValues): { fields: Record<string, string>; rest: string[] } {
  const fields: Record<string, string> = {};
  const rest: string[] = [];
  for (const field of error.fields) {
    const loc = field.loc.filter((part, index) => !(index === 0 && part === "body")).map(String);
    let path: string | null = null;
    if (loc[0] === "manifest") path = loc.slice(1).join(".");
    else if (loc[0]?.endsWith("template.yaml")) path = (loc[1] ?? "").replace(/\[(\d+)\]/g, ".$1");
    else if (loc[0] === "files" && loc[1]) path = fileRowPath(loc[1], values);
    else if (loc[0]) path = fileRowPath(loc[0], values) ?? (loc.length === 1 ? loc[0] : null);
    const target = path ? fieldFor(path) : null;
    if (target) fields[target] ??= field.msg;
    else rest.push(`${loc.join(".") || "body"}: ${field.msg}`);
  }
  return { fields, rest };
}

function fileRowPath(path: string, values: EditorValues): string | null {
  const script = values.scripts.findIndex((s) => `scripts/${s.name.trim()}` === path || path.endsWith(`/scripts/${s.name}`));
  if (script >= 0) return `scripts.${script}.content`;
  const file = values.files.findIndex((f) => `files/${f.source.trim()}` === path || path.endsWith(`/files/${f.source}`));
  if (file >= 0) return `files.${file}.content`;
  return null;
}

const SIMPLE = new Set(["name", "description", "os.template", "os.ostype", "message"]);

/** Which form field shows an error at a path, or null when the form has none for it. */
function fieldFor(path: string): string | null {
  if (SIMPLE.has(path)) return path;
  if (path.startsWith("tags")) return "tags";
  if (path.startsWith("packages.buckets")) return "packages.buckets";
  if (path.startsWith("packages.extra")) return "packages.extra";
  let match = /^container\.(cores|memory|swap|disk|unprivileged|onboot)$/.exec(path);
  if (match) return path;
  match = /^container\.features\.(nesting|keyctl|fuse)$/.exec(path);
  if (match) return path;
  match = /^container\.network\.(bridge|ip|ip6|gateway|vlan|firewall)$/.exec(path);
  if (match) return path;
  match = /^scripts\.(\d+)(?:\.(name|content))?$/.exec(path);
  if (match) return `scripts.${match[1]}.${match[2] ?? "name"}`;
  match = /^files\.(\d+)(?:\.(source|destination|owner|mode|content))?/.exec(path);
  if (match) return `files.${match[1]}.${match[2] ?? "source"}`;
  match = /^inputs\.(\d+)(?:\.(name|type|default|description|choices))?/.exec(path);
  if (match) return `inputs.${match[1]}.${match[2] ?? "name"}`;
  match = /^services\.(\d+)(?:\.(name|unit|port|protocol|web_ui))?/.exec(path);
  if (match) return `services.${match[1]}.${match[2] ?? "name"}`;
  return null;
}
