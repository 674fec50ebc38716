// Form values of the node dialog and the request bodies built from them.
import type { Schemas } from "../../../api/client";
import type { ProbeState } from "./CertificateCheck";

export type TLSMode = Schemas["TLSMode"];

export interface NodeValues {
  name: string;
  api_url: string;
  pve_node: string;
  token_id: string;
  token_secret: string;
  tls_mode: TLSMode;
  tls_ca_bundle: string;
  ssh_host: string;
  ssh_port: number | string;
  ssh_user: string;
  ssh_private_key: string;
  ssh_host_key: string;
  clear_ssh_private_key: boolean;
}

export function nodeValues(node: Schemas["NodeOut"] | null): NodeValues {
  return {
    name: node?.name ?? "",
    api_url: node?.api_url ?? "",
    pve_node: node?.pve_node ?? "",
    token_id: node?.token_id ?? "",
    token_secret: "",
    tls_mode: node?.tls_mode ?? "fingerprint",
    tls_ca_bundle: node?.tls_ca_bundle ?? "",
    ssh_host: node?.ssh_host ?? "",
    ssh_port: node?.ssh_port ?? 22,
    ssh_user: node?.ssh_user ?? "root",
    ssh_private_key: "",
    ssh_host_key: node?.ssh_host_key ?? "",
    clear_ssh_private_key: false,
  };
}

const orNull = (value: string) => (value.trim() ? value.trim() : null);

export function createBody(values: NodeValues, probe: ProbeState): Schemas["NodeCreate"] {
  const body: Schemas["NodeCreate"] = {
    name: values.name.trim(),
    api_url: values.api_url.trim(),
    token_id: values.token_id.trim(),
    token_secret: values.token_secret,
    tls_mode: values.tls_mode,
    ssh_port: Number(values.ssh_port) || 22,
    ssh_user: values.ssh_user.trim() || "root",
  };
  if (values.pve_node.trim()) body.pve_node = values.pve_node.trim();
  if (values.tls_mode === "fingerprint" && probe.certificate) body.tls_fingerprint = probe.certificate.fingerprint_sha256;
  if (values.tls_mode === "ca_bundle") body.tls_ca_bundle = values.tls_ca_bundle;
  if (values.ssh_host.trim()) body.ssh_host = values.ssh_host.trim();
  if (values.ssh_private_key.trim()) body.ssh_private_key = values.ssh_private_key;
  if (values.ssh_host_key.trim()) body.ssh_host_key = values.ssh_host_key.trim();
  return body;
}

/** Only what changed; blank secrets keep the stored ones. */
export function updateBody(node: Schemas["NodeOut"], values: NodeValues, probe: ProbeState): Schemas["NodeUpdate"] {
  const body: Schemas["NodeUpdate"] = {};
  const before = nodeValues(node);
  if (values.name.trim() !== before.name) body.name = values.name.trim();
  if (values.api_url.trim() !== before.api_url) body.api_url = values.api_url.trim();
  if (values.pve_node.trim() !== before.pve_node) body.pve_node = orNull(values.pve_node);
  if (values.token_id.trim() !== before.token_id) body.token_id = values.token_id.trim();
  if (values.token_secret) body.token_secret = values.token_secret;
  if (values.ssh_host.trim() !== before.ssh_host) body.ssh_host = orNull(values.ssh_host);
  if (Number(values.ssh_port) !== before.ssh_port) body.ssh_port = Number(values.ssh_port);
  if (values.ssh_user.trim() !== before.ssh_user) body.ssh_user = values.ssh_user.trim();
  if (values.ssh_host_key.trim() !== before.ssh_host_key) body.ssh_host_key = orNull(values.ssh_host_key);
  if (values.ssh_private_key.trim()) body.ssh_private_key = values.ssh_private_key;
  else if (values.clear_ssh_private_key) body.ssh_private_key = null;

  const newPin = values.tls_mode === "fingerprint" && probe.certificate && probe.confirmed;
  if (values.tls_mode !== before.tls_mode || newPin || (values.tls_mode === "ca_bundle" && values.tls_ca_bundle !== before.tls_ca_bundle)) {
    body.tls_mode = values.tls_mode;
    if (newPin) body.tls_fingerprint = probe.certificate!.fingerprint_sha256;
    if (values.tls_mode === "ca_bundle") body.tls_ca_bundle = values.tls_ca_bundle;
  }
  return body;
}
