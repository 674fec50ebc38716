import { ApiError } from "../../../api/client";
import { buildBody, emptyValues, formErrors, SECRET_MASK, valuesFromDetail } from "../editor/model";
import { detail } from "./fixtures";

describe("editor model", () => {
  it("round-trips a template, keeping what the form does not edit", () => {
    const original = detail("web", {
      manifest: {
        format: 1,
        name: "web",
        version: "1.0.0",
        os: { template: "debian-12-standard", volid: null, ostype: null },
        container: { cores: 2, memory: 1024, dns: { servers: ["1.1.1.1"], search_domain: null } },
        scripts: ["10-install.sh"],
        hooks: { "post-start": ["wait.sh"] },
        credentials: [{ name: "pw", capture: { file: "/etc/pw", output: null }, secret: true }],
        inputs: [{ name: "admin_password", type: "password", default: SECRET_MASK, min: 12, generate: true }],
      },
      inputs: [
        { name: "admin_password", type: "password", default: SECRET_MASK, min: 12, generate: true, required: false, secret: true },
      ],
      hooks: [
        {
          path: "hooks/wait.sh",
          name: "wait.sh",
          event: "post-start",
          target: "container",
          content: "sleep 1\n",
          encoding: "utf-8",
          sha256: "s",
          mode: "0755",
          size: 8,
        },
      ],
    });
    const values = valuesFromDetail(original);
    expect(values.inputs[0]!.default).toBe(""); // the mask is never shown as a value
    expect(values.inputs[0]!.hiddenDefault).toBe(true);
    const body = buildBody(values, original);
    const manifest = body.manifest as unknown as Record<string, any>;
    expect(manifest.version).toBe("1.0.0");
    expect(manifest.hooks).toEqual({ "post-start": ["wait.sh"] });
    expect(manifest.credentials).toHaveLength(1);
    expect(manifest.container).toMatchObject({ cores: 2, memory: 1024, dns: { servers: ["1.1.1.1"] } });
    // Left empty, the mask goes back and the server keeps the stored secret; typed over, the new value goes.
    expect(manifest.inputs[0]).toMatchObject({ name: "admin_password", min: 12, generate: true, default: SECRET_MASK });
    values.inputs[0]!.default = "a-new-secret-value";
    const replaced = buildBody(values, original).manifest as unknown as Record<string, any>;
    expect(replaced.inputs[0].default).toBe("a-new-secret-value");
    expect(Object.keys(body.files ?? {}).sort()).toEqual(["hooks/wait.sh", "scripts/10-install.sh"]);
  });

  it("maps the server's error paths onto form fields", () => {
    const values = { ...emptyValues(), scripts: [{ key: "k", name: "a.sh", content: "", mode: "0755" }] };
    const error = new ApiError(422, "invalid_template", "bad", [
      { loc: ["body", "manifest", "inputs", 0, "name"], msg: "bad input", type: "x" },
      { loc: ["body", "web/template.yaml", "packages.buckets[1]"], msg: "unknown bucket", type: "template" },
      { loc: ["body", "web/scripts/a.sh"], msg: "bad script", type: "template" },
      { loc: ["body", "manifest", "container", "network", "mtu"], msg: "too big", type: "x" },
    ]);
    const { fields, rest } = formErrors(error, values);
    expect(fields).toEqual({
      "inputs.0.name": "bad input",
      "packages.buckets": "unknown bucket",
      "scripts.0.content": "bad script",
    });
    expect(rest).toEqual(["manifest.container.network.mtu: too big"]);
  });
});
