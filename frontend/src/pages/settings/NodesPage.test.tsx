import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";

import { json, stubFetch } from "../../test/render";
import { meRoute, nodeOut, renderAsPage, userOut } from "./components/testing";
import NodesPage from "./NodesPage";

const node = nodeOut({
  tls_mode: "fingerprint",
  tls_fingerprint: "AA:BB",
  last_test_at: "2026-01-01T10:00:00Z",
  last_test_ok: false,
  pve_version: "8.2.4",
});

const certificate = {
  api_url: "https://pve2:8006",
  fingerprint_sha256: "12:34:56:78:9A:BC",
  subject: "CN=pve2",
  issuer: "CN=Proxmox Virtual Environment",
  not_before: "2026-01-01T00:00:00Z",
  not_after: "2028-01-01T00:00:00Z",
  san: ["pve2", "192.0.2.2"],
};

describe("NodesPage", () => {
  it("shows a non-admin the nodes read-only", async () => {
    stubFetch({ ...meRoute("operator"), "GET /api/v1/nodes": () => json([node]) });
    renderAsPage(<NodesPage />);
    expect(await screen.findByText("pve1")).toBeInTheDocument();
    expect(screen.getByText("Test failed")).toBeInTheDocument();
    expect(screen.getByText("Read-only")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Add node" })).not.toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Test connection to pve1" })).not.toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Delete node pve1" })).not.toBeInTheDocument();
  });

  it("adds a node only after the fetched fingerprint is confirmed", async () => {
    const calls = stubFetch({
      ...meRoute("admin"),
      "GET /api/v1/nodes": () => json([]),
      "POST /api/v1/nodes/probe-certificate": () => json(certificate),
      "POST /api/v1/nodes": () => json({ ...node, id: "n-2", name: "pve2" }, 201),
    });
    const user = userEvent.setup();
    renderAsPage(<NodesPage />);
    await user.click(await screen.findByRole("button", { name: "Add node" }));
    const dialog = await screen.findByRole("dialog", { name: "Add node" });
    await user.type(within(dialog).getByRole("textbox", { name: /^Name/ }), "pve2");
    await user.type(within(dialog).getByRole("textbox", { name: /^API URL/ }), "https://pve2:8006");
    await user.type(within(dialog).getByRole("textbox", { name: /^API token ID/ }), "lxcm@pve!dash");
    await user.type(within(dialog).getByLabelText(/^API token secret/), "s3cret");

    const submit = within(dialog).getByRole("button", { name: "Add node" });
    expect(submit).toBeDisabled();

    await user.click(within(dialog).getByRole("button", { name: "Fetch certificate" }));
    expect(await within(dialog).findByText("12:34:56:78:9A:BC")).toBeInTheDocument();
    expect(within(dialog).getByText("CN=pve2")).toBeInTheDocument();
    expect(submit).toBeDisabled();
    expect(calls.some((call) => call.method === "POST" && call.url.endsWith("/api/v1/nodes"))).toBe(false);

    await user.click(within(dialog).getByRole("checkbox", { name: /fingerprint matches/ }));
    expect(submit).toBeEnabled();
    await user.click(submit);

    await waitFor(() => expect(calls.some((call) => call.method === "POST" && call.url.endsWith("/api/v1/nodes"))).toBe(true));
    const create = calls.find((call) => call.method === "POST" && call.url.endsWith("/api/v1/nodes"))!;
    expect(await create.json()).toMatchObject({
      name: "pve2",
      api_url: "https://pve2:8006",
      token_id: "lxcm@pve!dash",
      token_secret: "s3cret",
      tls_mode: "fingerprint",
      tls_fingerprint: "12:34:56:78:9A:BC",
    });
    const probe = calls.find((call) => call.url.endsWith("/probe-certificate"))!;
    expect(await probe.json()).toEqual({ api_url: "https://pve2:8006" });
  });

  it("voids the confirmation when the API URL changes", async () => {
    stubFetch({
      ...meRoute("admin"),
      "GET /api/v1/nodes": () => json([]),
      "POST /api/v1/nodes/probe-certificate": () => json(certificate),
    });
    const user = userEvent.setup();
    renderAsPage(<NodesPage />);
    await user.click(await screen.findByRole("button", { name: "Add node" }));
    const dialog = await screen.findByRole("dialog", { name: "Add node" });
    const url = within(dialog).getByRole("textbox", { name: /^API URL/ });
    await user.type(url, "https://pve2:8006");
    await user.click(within(dialog).getByRole("button", { name: "Fetch certificate" }));
    await user.click(await within(dialog).findByRole("checkbox", { name: /fingerprint matches/ }));
    await user.type(url, "7");
    expect(within(dialog).queryByText("12:34:56:78:9A:BC")).not.toBeInTheDocument();
    expect(within(dialog).getByRole("button", { name: "Add node" })).toBeDisabled();
  });

  it("shows each check of a connection test", async () => {
    stubFetch({
      ...meRoute("admin"),
      "GET /api/v1/nodes": () => json([node]),
      "POST /api/v1/nodes/n-1/test": () =>
        json({
          ok: false,
          version: "8.2.4",
          checks: [
            { name: "tls", ok: true, message: "certificate matches the pinned fingerprint" },
            { name: "token", ok: false, message: "401: invalid token" },
          ],
          missing_privileges: ["VM.Allocate"],
        }),
    });
    const user = userEvent.setup();
    renderAsPage(<NodesPage />);
    await user.click(await screen.findByRole("button", { name: "Test connection to pve1" }));
    const dialog = await screen.findByRole("dialog", { name: "Connection test: pve1" });
    expect(await within(dialog).findByText("Connection failed")).toBeInTheDocument();
    const checks = within(dialog).getByRole("list", { name: "Connection checks" });
    const tls = within(checks).getByRole("listitem", { name: "Check tls: OK" });
    expect(tls).toHaveTextContent("certificate matches the pinned fingerprint");
    const token = within(checks).getByRole("listitem", { name: "Check token: failed" });
    expect(token).toHaveTextContent("401: invalid token");
    expect(within(dialog).getByText("VM.Allocate")).toBeInTheDocument();
  });

  it("edits with PATCH, sending only changes and no blank secret", async () => {
    const calls = stubFetch({
      ...meRoute("admin"),
      "GET /api/v1/nodes": () => json([node]),
      "PATCH /api/v1/nodes/n-1": () => json({ ...node, name: "pve-one" }),
    });
    const user = userEvent.setup();
    renderAsPage(<NodesPage />);
    await user.click(await screen.findByRole("button", { name: "Edit node pve1" }));
    const dialog = await screen.findByRole("dialog", { name: "Edit node pve1" });
    const name = within(dialog).getByRole("textbox", { name: /^Name/ });
    await user.clear(name);
    await user.type(name, "pve-one");
    await user.click(within(dialog).getByRole("button", { name: "Save node" }));
    await waitFor(() => expect(calls.some((call) => call.method === "PATCH")).toBe(true));
    expect(await calls.find((call) => call.method === "PATCH")!.json()).toEqual({ name: "pve-one" });
  });

  it("deletes after confirmation", async () => {
    const calls = stubFetch({
      ...meRoute("admin"),
      "GET /api/v1/nodes": () => json([node]),
      "DELETE /api/v1/nodes/n-1": () => new Response(null, { status: 204 }),
    });
    const user = userEvent.setup();
    renderAsPage(<NodesPage />);
    await user.click(await screen.findByRole("button", { name: "Delete node pve1" }));
    const dialog = await screen.findByRole("dialog", { name: "Delete node" });
    expect(calls.some((call) => call.method === "DELETE")).toBe(false);
    await user.click(within(dialog).getByRole("button", { name: "Delete node" }));
    await waitFor(() => expect(calls.some((call) => call.method === "DELETE")).toBe(true));
  });
});

describe("NodesPage access", () => {
  it("replaces a node's grant list with PUT", async () => {
    const calls = stubFetch({
      ...meRoute("admin"),
      "GET /api/v1/nodes": () => json([node]),
      "GET /api/v1/nodes/n-1/access": () =>
        json([{ user_id: "u-2", username: "bob", role: "viewer", granted_at: "2026-01-01T10:00:00Z" }]),
      "GET /api/v1/users": () =>
        json({
          items: [userOut({ id: "u-2", username: "bob", role: "viewer" }), userOut({ id: "u-3", username: "carol", role: "operator" })],
          total: 2,
          limit: 500,
          offset: 0,
        }),
      "PUT /api/v1/nodes/n-1/access": () => json([]),
    });
    const user = userEvent.setup();
    renderAsPage(<NodesPage />);
    await user.click(await screen.findByRole("button", { name: "Manage access to pve1" }));
    const dialog = await screen.findByRole("dialog", { name: "Access to pve1" });
    expect(await within(dialog).findByText("bob (viewer)")).toBeInTheDocument();
    await user.click(within(dialog).getByRole("button", { name: "Save access" }));
    await waitFor(() => expect(calls.some((call) => call.method === "PUT")).toBe(true));
    expect(await calls.find((call) => call.method === "PUT")!.json()).toEqual({ user_ids: ["u-2"] });
  });
});
