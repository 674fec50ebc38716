// The wizard's one form state, the request built from it, per-step validation, and where the server's
// 422 field errors land (which step, which field).
import type { Schemas } from "../../api/client";

export type DeploymentRequest = Schemas["DeploymentRequest"];
export type DeployDefaults = Schemas["DeployDefaults"];
export type InputValue = string | number | boolean;
export type FeatureName = "nesting" | "keyctl" | "fuse";
export const FEATURE_NAMES: FeatureName[] = ["nesting", "keyctl", "fuse"];

export interface TemplateInput {
  name: string;
  type: "string" | "int" | "bool" | "enum" | "password";
  description?: string | null;
  default?: InputValue | null;
  required?: boolean;
  secret?: boolean;
  min?: number | null;
  max?: number | null;
  choices?: string[] | null;
}

export interface WizardValues {
  template: string;
  node_id: string;
  rootfs_storage: string;
  ostemplate: string; // "" = the newest match on the node
  vmid: number | string; // "" = the next free one
  cores: number | string;
  memory: number | string;
  swap: number | string;
  rootfs_size: number | string;
  unprivileged: boolean;
  features: Record<FeatureName, boolean>;
  hostname: string;
  bridge: string;
  vlan: number | string;
  firewall: boolean;
  mtu: number | string; // "" = the bridge's MTU
  ip_mode: "dhcp" | "static";
  ip: string;
  gateway: string;
  ip6_mode: "none" | "auto" | "dhcp" | "static";
  ip6: string;
  gateway6: string;
  dns_servers: string;
  search_domain: string;
  ssh_public_keys: string;
  root_password: string;
  tags: string[];
  start_on_boot: boolean;
  inputs: Record<string, InputValue>;
  on_failure: "keep" | "destroy";
}

export const STEPS = ["Template", "Node", "Resources", "Network & access", "Review"] as const;
export const SECRET_MASK = "********";

export function initialValues(template = ""): WizardValues {
  return {
    template,
    node_id: "",
    rootfs_storage: "",
    ostemplate: "",
    vmid: "",
    cores: 1,
    memory: 512,
    swap: 512,
    rootfs_size: 4,
    unprivileged: true,
    features: { nesting: false, keyctl: false, fuse: false },
    hostname: "",
    bridge: "vmbr0",
    vlan: "",
    firewall: false,
    mtu: "",
    ip_mode: "dhcp",
    ip: "",
    gateway: "",
    ip6_mode: "none",
    ip6: "",
    gateway6: "",
    dns_servers: "",
    search_domain: "",
    ssh_public_keys: "",
    root_password: "",
    tags: [],
    start_on_boot: false,
    inputs: {},
    on_failure: "keep",
  };
}

function str(value: unknown): string {
  return typeof value === "string" ? value : "";
}

export function templateInputs(defaults: DeployDefaults | undefined): TemplateInput[] {
  return (defaults?.inputs ?? []) as unknown as TemplateInput[];
}

export function isSecretInput(input: TemplateInput): boolean {
  return input.secret === true || input.type === "password";
}

/** The template's defaults over the current values (applied once per chosen template). */
export function applyDefaults(values: WizardValues, defaults: DeployDefaults): WizardValues {
  const container = defaults.container as Record<string, unknown>;
  const network = (container.network ?? {}) as Record<string, unknown>;
  const dns = (container.dns ?? {}) as Record<string, unknown>;
  const features = (container.features ?? {}) as Record<string, unknown>;
  const ip = str(network.ip) || "dhcp";
  const ip6 = str(network.ip6) || "none";
  const inputs: Record<string, InputValue> = {};
  for (const input of templateInputs(defaults)) {
    const fallback = input.type === "bool" ? false : "";
    const value = input.default ?? fallback;
    // A secret default comes masked: leave it empty, the server uses (or generates) the real one.
    inputs[input.name] = isSecretInput(input) && value === SECRET_MASK ? "" : value;
  }
  return {
    ...values,
    hostname: defaults.hostname,
    cores: Number(container.cores ?? values.cores),
    memory: Number(container.memory ?? values.memory),
    swap: Number(container.swap ?? values.swap),
    rootfs_size: Number(container.disk ?? values.rootfs_size),
    unprivileged: container.unprivileged !== false,
    start_on_boot: container.onboot === true,
    features: { nesting: features.nesting === true, keyctl: features.keyctl === true, fuse: features.fuse === true },
    bridge: str(network.bridge) || values.bridge,
    vlan: typeof network.vlan === "number" ? network.vlan : "",
    firewall: network.firewall === true,
    mtu: typeof network.mtu === "number" ? network.mtu : "",
    ip_mode: ip === "dhcp" ? "dhcp" : "static",
    ip: ip === "dhcp" ? "" : ip,
    gateway: str(network.gateway),
    ip6_mode: ip6 === "none" || ip6 === "auto" || ip6 === "dhcp" ? ip6 : "static",
    ip6: ["none", "auto", "dhcp"].includes(ip6) ? "" : ip6,
    gateway6: str(network.gateway6),
    dns_servers: Array.isArray(dns.servers) ? dns.servers.join(", ") : "",
    search_domain: str(dns.search_domain),
    ostemplate: defaults.os_volid ?? "",
    inputs,
  };
}

const num = (value: number | string): number | undefined =>
  value === "" || value === null || Number.isNaN(Number(value)) ? undefined : Number(value);

export function splitList(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((part) => part.trim())
    .filter(Boolean);
}

export function sshKeys(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean);
}

export function buildRequest(values: WizardValues, inputs: TemplateInput[]): DeploymentRequest {
  const inputValues: Record<string, InputValue> = {};
  for (const input of inputs) {
    const value = values.inputs[input.name];
    if (value === undefined || value === "") continue; // the template's default (or a generated secret)
    inputValues[input.name] = input.type === "int" ? Number(value) : value;
  }
  const servers = splitList(values.dns_servers);
  return {
    template: values.template,
    node_id: values.node_id,
    hostname: values.hostname.trim() || undefined,
    vmid: num(values.vmid),
    ostemplate: values.ostemplate || undefined,
    rootfs_storage: values.rootfs_storage || undefined,
    cores: num(values.cores),
    memory: num(values.memory),
    swap: num(values.swap),
    rootfs_size: num(values.rootfs_size),
    unprivileged: values.unprivileged,
    features: { ...values.features },
    network: {
      bridge: values.bridge || undefined,
      // null (not omitted) so an emptied VLAN or MTU clears the template's: the server keeps only omitted fields.
      vlan: num(values.vlan) ?? null,
      firewall: values.firewall,
      mtu: num(values.mtu) ?? null,
      ip: values.ip_mode === "dhcp" ? "dhcp" : values.ip.trim(),
      gateway: values.ip_mode === "static" && values.gateway.trim() ? values.gateway.trim() : undefined,
      ip6: values.ip6_mode === "static" ? values.ip6.trim() : values.ip6_mode,
      gateway6: values.ip6_mode === "static" && values.gateway6.trim() ? values.gateway6.trim() : undefined,
    },
    dns: servers.length > 0 || values.search_domain.trim()
      ? { servers: servers.length > 0 ? servers : undefined, search_domain: values.search_domain.trim() || undefined }
      : undefined,
    ssh_public_keys: sshKeys(values.ssh_public_keys),
    root_password: values.root_password || undefined,
    tags: values.tags,
    start_on_boot: values.start_on_boot,
    inputs: inputValues,
    on_failure: values.on_failure,
  };
}

const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const TAG = /^[a-z0-9_+][a-z0-9_+.-]{0,63}$/;
const SSH_TYPES = ["ssh-ed25519", "ssh-rsa", "ecdsa-sha2-", "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com"];

function intIn(value: number | string, min: number, max: number, label: string, required = true): string | null {
  if (value === "" || value === undefined) return required ? `${label} is required` : null;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) return `${label} must be a whole number from ${min} to ${max}`;
  return null;
}

/** Client-side checks of one step; keys are form paths. The server's plan checks the rest. */
export function validateStep(step: number, values: WizardValues, inputs: TemplateInput[]): Record<string, string> {
  const errors: Record<string, string | null> = {};
  if (step === 0) {
    errors.template = values.template ? null : "Choose a template";
  } else if (step === 1) {
    errors.node_id = values.node_id ? null : "Choose a node";
    errors.vmid = intIn(values.vmid, 100, 999_999_999, "VMID", false);
  } else if (step === 2) {
    errors.cores = intIn(values.cores, 1, 512, "Cores");
    errors.memory = intIn(values.memory, 16, 1_048_576, "Memory");
    errors.swap = intIn(values.swap, 0, 1_048_576, "Swap");
    errors.rootfs_size = intIn(values.rootfs_size, 1, 65_536, "Disk size");
  } else if (step === 3) {
    errors.hostname = HOSTNAME.test(values.hostname.trim())
      ? null
      : "Letters, digits and hyphens (a DNS label, at most 63 characters)";
    errors.vlan = intIn(values.vlan, 1, 4094, "VLAN tag", false);
    errors.mtu = intIn(values.mtu, 576, 65_520, "MTU", false);
    if (values.ip_mode === "static") {
      const [address, prefix] = values.ip.trim().split("/");
      errors.ip = address && IPV4.test(address) && prefix && Number(prefix) <= 32 ? null : "An IPv4 address with prefix, e.g. 10.0.0.5/24";
      errors.gateway = !values.gateway.trim() || IPV4.test(values.gateway.trim()) ? null : "An IPv4 address";
    }
    if (values.ip6_mode === "static") {
      errors.ip6 = /^[0-9a-fA-F:]+:[0-9a-fA-F:.]*\/\d{1,3}$/.test(values.ip6.trim()) ? null : "An IPv6 address with prefix, e.g. fd00::5/64";
    }
    const badKey = sshKeys(values.ssh_public_keys).find((key) => !SSH_TYPES.some((type) => key.startsWith(type)));
    errors.ssh_public_keys = badKey ? `Not an OpenSSH public key: ${badKey.slice(0, 40)}` : null;
    const pw = values.root_password;
    errors.root_password = pw && (pw.length < 5 || pw.length > 128) ? "5 to 128 characters" : null;
    const badTag = values.tags.find((tag) => !TAG.test(tag));
    errors.tags = badTag ? `Invalid tag "${badTag}" (lower case letters, digits, _ + . -)` : null;
    for (const input of inputs) {
      const value = values.inputs[input.name];
      const path = `inputs.${input.name}`;
      const empty = value === undefined || value === "";
      const hasDefault = input.default !== undefined && input.default !== null;
      if (empty && input.required && !hasDefault) errors[path] = "Required";
      else if (!empty && input.type === "int") {
        const n = Number(value);
        if (!Number.isInteger(n)) errors[path] = "A whole number";
        else if (input.min != null && n < input.min) errors[path] = `At least ${input.min}`;
        else if (input.max != null && n > input.max) errors[path] = `At most ${input.max}`;
      }
    }
  }
  return Object.fromEntries(Object.entries(errors).filter((entry): entry is [string, string] => entry[1] !== null));
}

const NETWORK_FIELDS: Record<string, string> = {
  bridge: "bridge",
  vlan: "vlan",
  ip: "ip",
  gateway: "gateway",
  ip6: "ip6",
  gateway6: "gateway6",
  firewall: "firewall",
  mtu: "mtu",
};

/** Where a server field error goes: the form path and the step (-1: no field; shown with the plan). */
export function locateServerField(key: string): { field: string; step: number } {
  const [head = "", second, third] = key.split(".");
  if (head === "template" || head === "template_revision") return { field: "template", step: 0 };
  if (["node_id", "rootfs_storage", "ostemplate", "vmid"].includes(head)) return { field: head, step: 1 };
  if (head === "features") {
    // A problem with the features as a whole goes on the first switch.
    const feature = FEATURE_NAMES.find((name) => name === second) ?? "nesting";
    return { field: `features.${feature}`, step: 2 };
  }
  if (["rootfs_size", "cores", "memory", "swap", "unprivileged"].includes(head)) return { field: head, step: 2 };
  if (head === "network") return { field: NETWORK_FIELDS[second ?? ""] ?? "ip", step: 3 };
  if (head === "dns") return { field: second === "search_domain" ? "search_domain" : "dns_servers", step: 3 };
  if (head === "inputs" && second) return { field: `inputs.${second}`, step: 3 };
  if (["hostname", "ssh_public_keys", "root_password", "tags", "start_on_boot"].includes(head)) return { field: head, step: 3 };
  void third;
  return { field: key, step: -1 };
}

const STEP_FIELDS: Record<number, string[]> = {
  0: ["template"],
  1: ["node_id", "rootfs_storage", "ostemplate", "vmid"],
  2: ["cores", "memory", "swap", "rootfs_size", "unprivileged", ...FEATURE_NAMES.map((name) => `features.${name}`)],
  3: ["hostname", "bridge", "vlan", "firewall", "mtu", "ip", "gateway", "ip6", "gateway6", "dns_servers", "search_domain",
    "ssh_public_keys", "root_password", "tags", "start_on_boot"],
};

/** The step a form field is on (template inputs are on the network-and-access step). */
export function stepOfField(field: string): number {
  if (field.startsWith("inputs.")) return 3;
  for (const [step, fields] of Object.entries(STEP_FIELDS)) if (fields.includes(field)) return Number(step);
  return -1;
}

/** The server's field errors as form errors, the earliest step holding one, and those with no field. */
export function mapServerErrors(fieldMap: Record<string, string>): {
  errors: Record<string, string>;
  step: number | null;
  unplaced: string[];
} {
  const errors: Record<string, string> = {};
  const unplaced: string[] = [];
  let step: number | null = null;
  for (const [key, message] of Object.entries(fieldMap)) {
    const place = locateServerField(key);
    if (place.step < 0) {
      unplaced.push(key ? `${key}: ${message}` : message);
      continue;
    }
    errors[place.field] ??= message;
    step = step === null ? place.step : Math.min(step, place.step);
  }
  return { errors, step, unplaced };
}
