import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";

import { json, renderWithApp, stubFetch } from "../../../test/render";
import TemplateEditorPage from "../TemplateEditorPage";
import { detail, emptyBuckets } from "./fixtures";

vi.mock("../../../auth/AuthContext", () => ({ useAuth: () => ({ canWrite: true, isAdmin: false, me: null }) }));

// jsdom has no document.fonts; Mantine's autosize Textarea listens on it.
if (!("fonts" in document)) {
  Object.defineProperty(document, "fonts", {
    value: { addEventListener: () => {}, removeEventListener: () => {} },
    configurable: true,
  });
}

const bucketPage = {
  ...emptyBuckets,
  items: [
    {
      name: "base",
      description: "Base tools",
      packages: ["curl"],
      origin: "filesystem",
      file: "base.yaml",
      content_hash: "h",
      created_at: "2026-01-01T00:00:00Z",
      updated_at: "2026-01-01T00:00:00Z",
    },
  ],
  total: 1,
};

/** Type by pasting: one input event per field keeps the test fast on a busy machine. */
async function fill(field: HTMLElement, text: string) {
  await userEvent.clear(field);
  await userEvent.click(field);
  await userEvent.paste(text);
}

async function fillNewTemplateWithScript() {
  await fill(await screen.findByRole("textbox", { name: "Template name" }), "web");
  await fill(screen.getByRole("textbox", { name: "Template description" }), "A web server");
  await userEvent.click(screen.getByRole("button", { name: "Add script" }));
  await fill(screen.getByRole("textbox", { name: "Script 1 file name" }), "10-install.sh");
  await fill(screen.getByRole("textbox", { name: "Script 1 content" }), "apt-get install -y nginx");
}

// Long forms: generous time when the machine is busy.
describe("TemplateEditorPage", { timeout: 20_000 }, () => {
  it("creates a template: the body holds the manifest and the added script", async () => {
    const calls = stubFetch({
      "GET /api/v1/buckets": () => json(bucketPage),
      "POST /api/v1/templates": () => json(detail("web"), 201),
    });
    renderWithApp(<TemplateEditorPage />, { path: "/templates/new", route: "/templates/new" });
    await fillNewTemplateWithScript();
    await userEvent.click(screen.getByRole("button", { name: "Save template" }));

    await waitFor(() => expect(calls.some((c) => c.method === "POST")).toBe(true));
    const body = await calls.find((c) => c.method === "POST")!.json();
    expect(body.manifest).toMatchObject({
      format: 1,
      name: "web",
      description: "A web server",
      os: { template: "debian-12-standard" },
      container: { cores: 1, memory: 512, unprivileged: true, network: { bridge: "vmbr0", ip: "dhcp" } },
      packages: { buckets: [], extra: [] },
      scripts: ["10-install.sh"],
    });
    expect(body.files).toEqual({
      "scripts/10-install.sh": { content: "apt-get install -y nginx", encoding: "utf-8", mode: "0755" },
    });
  });

  it("shows the server's 422 errors on their fields, and the rest in an alert", async () => {
    stubFetch({
      "GET /api/v1/buckets": () => json(bucketPage),
      "POST /api/v1/templates": () =>
        json(
          {
            error: "invalid_template",
            detail: "invalid template",
            fields: [
              { loc: ["body", "manifest", "name"], msg: "String should match pattern", type: "string_pattern_mismatch" },
              { loc: ["body", "web/template.yaml", "scripts[0]"], msg: "line 9, column 3: script not found", type: "template" },
              { loc: ["body", "manifest", "container", "cores"], msg: "Input should be greater than or equal to 1", type: "x" },
              { loc: ["body", "manifest", "credentials", 0], msg: "unknown output", type: "x" },
            ],
          },
          422,
        ),
    });
    renderWithApp(<TemplateEditorPage />, { path: "/templates/new", route: "/templates/new" });
    await fillNewTemplateWithScript();
    await userEvent.click(screen.getByRole("button", { name: "Save template" }));

    const name = screen.getByRole("textbox", { name: "Template name" });
    await waitFor(() => expect(name).toHaveAttribute("aria-invalid", "true"));
    expect(name).toHaveAccessibleDescription(expect.stringContaining("String should match pattern"));
    expect(screen.getByRole("textbox", { name: "Script 1 file name" })).toHaveAccessibleDescription(expect.stringContaining("line 9, column 3: script not found"));
    expect(screen.getByRole("textbox", { name: "Cores" })).toHaveAccessibleDescription(expect.stringContaining("Input should be greater than or equal to 1"));
    const alert = screen.getByRole("alert");
    expect(alert).toHaveTextContent("The template was not saved");
    expect(alert).toHaveTextContent("manifest.credentials.0: unknown output");
  });

  it("sends If-Match and, on 412, keeps the edits and offers the latest version", async () => {
    let etag = '"2-abcdef"';
    const calls = stubFetch({
      "GET /api/v1/buckets": () => json(bucketPage),
      "GET /api/v1/templates/web": () => json(detail("web", { etag })),
      "PUT /api/v1/templates/web": (request) =>
        request.headers.get("If-Match") === '"3-fresh"'
          ? json(detail("web", { etag: '"4-new"' }))
          : json({ error: "precondition_failed", detail: "template 'web' is now at revision 3; reload and retry" }, 412),
    });
    renderWithApp(<TemplateEditorPage />, { path: "/templates/web/edit", route: "/templates/:name/edit" });

    const description = await screen.findByRole("textbox", { name: "Template description" });
    expect(description).toHaveValue("web description");
    expect(screen.getByRole("textbox", { name: "Script 1 file name" })).toHaveValue("10-install.sh");
    await fill(description, "My edit");
    await userEvent.click(screen.getByRole("button", { name: "Save template" }));

    expect(await screen.findByText("Someone else changed this template")).toBeInTheDocument();
    const firstPut = calls.find((c) => c.method === "PUT")!;
    expect(firstPut.headers.get("If-Match")).toBe('"2-abcdef"');
    expect(screen.getByRole("textbox", { name: "Template description" })).toHaveValue("My edit");

    etag = '"3-fresh"';
    await userEvent.click(screen.getByRole("button", { name: "Keep my edits" }));
    await waitFor(() => expect(screen.queryByText("Someone else changed this template")).not.toBeInTheDocument());
    expect(screen.getByRole("textbox", { name: "Template description" })).toHaveValue("My edit");
    await userEvent.click(screen.getByRole("button", { name: "Save template" }));
    await waitFor(() => expect(calls.filter((c) => c.method === "PUT")).toHaveLength(2));
    const second = calls.filter((c) => c.method === "PUT")[1]!;
    expect(second.headers.get("If-Match")).toBe('"3-fresh"');
    expect((await second.json()).manifest.description).toBe("My edit");
  });

  it("explains a 409 (folder not writable)", async () => {
    stubFetch({
      "GET /api/v1/buckets": () => json(bucketPage),
      "GET /api/v1/templates/web": () => json(detail("web")),
      "PUT /api/v1/templates/web": () => json({ error: "conflict", detail: "the templates folder is read-only" }, 409),
    });
    renderWithApp(<TemplateEditorPage />, { path: "/templates/web/edit", route: "/templates/:name/edit" });
    await userEvent.click(await screen.findByRole("button", { name: "Save template" }));
    expect(await screen.findByText("The templates folder is not writable")).toBeInTheDocument();
    expect(screen.getByRole("alert")).toHaveTextContent("the templates folder is read-only");
  });
});
