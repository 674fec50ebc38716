import { deployDefaults } from "./fixtures";
import {
  applyDefaults,
  buildRequest,
  type DeployDefaults,
  initialValues,
  mapServerErrors,
  templateInputs,
  validateStep,
} from "./model";

const defaults = deployDefaults as unknown as DeployDefaults;

describe("wizard model", () => {
  it("maps the server's field errors to the form fields and the earliest step", () => {
    const mapped = mapServerErrors({
      "network.ip": "must be 'dhcp' or an IPv4 address with prefix",
      "inputs.admin_user": "required",
      "rootfs_storage": "no such storage",
      "dns.servers.1": "not an IP address",
      "": "something general",
    });
    expect(mapped.errors).toEqual({
      ip: "must be 'dhcp' or an IPv4 address with prefix",
      "inputs.admin_user": "required",
      rootfs_storage: "no such storage",
      dns_servers: "not an IP address",
    });
    expect(mapped.step).toBe(1);
    expect(mapped.unplaced).toEqual(["something general"]);
  });

  it("applies the template's defaults and leaves masked secrets empty", () => {
    const values = applyDefaults(initialValues("web"), defaults);
    expect(values).toMatchObject({ hostname: "web", cores: 2, memory: 1024, rootfs_size: 8, bridge: "vmbr0", ip_mode: "dhcp" });
    expect(values.inputs).toEqual({ admin_user: "admin", db_password: "" });
  });

  it("builds the request: static network, keys, typed inputs, empty values left to the server", () => {
    const values = {
      ...applyDefaults(initialValues("web"), defaults),
      node_id: "n1",
      ip_mode: "static" as const,
      ip: "10.0.0.5/24",
      gateway: "10.0.0.1",
      dns_servers: "1.1.1.1, 9.9.9.9",
      ssh_public_keys: "ssh-ed25519 AAAA a@b\n\n",
      vlan: 20,
    };
    const request = buildRequest(values, templateInputs(defaults));
    expect(request.network).toEqual({ bridge: "vmbr0", vlan: 20, ip: "10.0.0.5/24", gateway: "10.0.0.1", ip6: "none", gateway6: undefined });
    expect(request.dns).toEqual({ servers: ["1.1.1.1", "9.9.9.9"], search_domain: undefined });
    expect(request.ssh_public_keys).toEqual(["ssh-ed25519 AAAA a@b"]);
    expect(request.inputs).toEqual({ admin_user: "admin" });
    expect(request.vmid).toBeUndefined();
    expect(request.root_password).toBeUndefined();
  });

  it("validates each step on its own", () => {
    const values = { ...initialValues(""), hostname: "bad_name", ip_mode: "static" as const, ip: "10.0.0.5", tags: ["OK"] };
    expect(validateStep(0, values, [])).toEqual({ template: "Choose a template" });
    expect(Object.keys(validateStep(3, values, []))).toEqual(["hostname", "ip", "tags"]);
    expect(validateStep(2, { ...values, cores: 0 }, [])).toHaveProperty("cores");
  });
});
