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
    expect(request.network).toEqual({
      bridge: "vmbr0",
      vlan: 20,
      firewall: false,
      mtu: null,
      ip: "10.0.0.5/24",
      gateway: "10.0.0.1",
      ip6: "none",
      gateway6: undefined,
    });
    expect(request.features).toEqual({ nesting: false, keyctl: false, fuse: false });
    expect(request.dns).toEqual({ servers: ["1.1.1.1", "9.9.9.9"], search_domain: undefined });
    expect(request.ssh_public_keys).toEqual(["ssh-ed25519 AAAA a@b"]);
    expect(request.inputs).toEqual({ admin_user: "admin" });
    expect(request.vmid).toBeUndefined();
    expect(request.root_password).toBeUndefined();
  });

  it("takes features, firewall and MTU from the template and sends them in full", () => {
    const container = { ...deployDefaults.container, features: { nesting: true }, network: { ...deployDefaults.container.network, firewall: true, mtu: 1400 } };
    const values = applyDefaults(initialValues("web"), { ...defaults, container } as DeployDefaults);
    expect(values).toMatchObject({ features: { nesting: true, keyctl: false, fuse: false }, firewall: true, mtu: 1400 });
    const request = buildRequest({ ...values, node_id: "n1", features: { ...values.features, fuse: true }, mtu: "" }, []);
    expect(request.features).toEqual({ nesting: true, keyctl: false, fuse: true });
    // An emptied MTU is sent as null so the template's 1400 is cleared, not kept.
    expect(request.network).toMatchObject({ firewall: true, mtu: null, vlan: null });
    expect(buildRequest({ ...values, mtu: 9000 }, []).network?.mtu).toBe(9000);
  });

  it("puts feature, firewall and MTU errors on their own fields", () => {
    expect(mapServerErrors({ "network.mtu": "too big" })).toEqual({ errors: { mtu: "too big" }, step: 3, unplaced: [] });
    expect(mapServerErrors({ "network.firewall": "no" }).errors).toEqual({ firewall: "no" });
    expect(mapServerErrors({ "features.keyctl": "only unprivileged" })).toEqual({
      errors: { "features.keyctl": "only unprivileged" },
      step: 2,
      unplaced: [],
    });
    expect(mapServerErrors({ features: "bad" }).errors).toEqual({ "features.nesting": "bad" });
    expect(validateStep(3, { ...initialValues(""), hostname: "ok", mtu: 100 }, [])).toEqual({ mtu: "MTU must be a whole number from 576 to 65520" });
    expect(validateStep(3, { ...initialValues(""), hostname: "ok", mtu: "" }, [])).toEqual({});
  });

  it("validates each step on its own", () => {
    const values = { ...initialValues(""), hostname: "bad_name", ip_mode: "static" as const, ip: "10.0.0.5", tags: ["OK"] };
    expect(validateStep(0, values, [])).toEqual({ template: "Choose a template" });
    expect(Object.keys(validateStep(3, values, []))).toEqual(["hostname", "ip", "tags"]);
    expect(validateStep(2, { ...values, cores: 0 }, [])).toHaveProperty("cores");
  });
});
