import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";

import { json, pageJson, stubFetch } from "../../test/render";
import { meRoute, nodeOut, renderAsPage, userOut } from "./components/testing";
import UsersPage from "./UsersPage";

const bob = userOut({ id: "u-2", username: "bob", role: "viewer" });
const nodeStub = (id: string, name: string) => nodeOut({ id, name, api_url: `https://${name}:8006`, token_id: "a@pve!b" });

describe("UsersPage", () => {
  it("is forbidden for non-admins and asks nothing of the users API", async () => {
    const calls = stubFetch({ ...meRoute("operator") });
    renderAsPage(<UsersPage />);
    expect(await screen.findByText("Admins only")).toBeInTheDocument();
    expect(calls.some((call) => call.url.includes("/api/v1/users"))).toBe(false);
    expect(screen.queryByRole("button", { name: "New user" })).not.toBeInTheDocument();
  });

  it("lists users and explains the roles", async () => {
    stubFetch({ ...meRoute("admin"), "GET /api/v1/users": () => pageJson([userOut(), bob]) });
    renderAsPage(<UsersPage />);
    expect(await screen.findByText("bob")).toBeInTheDocument();
    expect(screen.getByText(/Read-only: browses templates/)).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Delete user alice" })).toBeDisabled();
  });

  it("creates a user with username, password and role; shows 422 on the field", async () => {
    let attempts = 0;
    const calls = stubFetch({
      ...meRoute("admin"),
      "GET /api/v1/users": () => pageJson([userOut()]),
      "POST /api/v1/users": () => {
        attempts += 1;
        if (attempts === 1) {
          return json(
            {
              error: "validation_error",
              detail: "Invalid request",
              fields: [{ loc: ["body", "password"], msg: "at least 10 characters", type: "value_error" }],
            },
            422,
          );
        }
        return json(userOut({ id: "u-3", username: "carol", role: "operator" }), 201);
      },
    });
    const user = userEvent.setup();
    renderAsPage(<UsersPage />);
    await user.click(await screen.findByRole("button", { name: "New user" }));
    const dialog = await screen.findByRole("dialog", { name: "New user" });
    await user.type(within(dialog).getByRole("textbox", { name: /^Username/ }), "carol");
    const password = within(dialog).getByLabelText(/^Password/);
    await user.type(password, "short");
    const roleInput = within(dialog).getByRole("combobox", { name: /^Role/ });
    await user.click(roleInput);
    const listbox = await waitFor(() => document.getElementById(roleInput.getAttribute("aria-controls")!)!);
    await user.click(within(listbox).getByRole("option", { name: "Operator", hidden: true }));
    await user.click(within(dialog).getByRole("button", { name: "Create user" }));
    await waitFor(() => expect(password).toHaveAccessibleDescription(expect.stringContaining("at least 10 characters")));

    await user.type(password, "-long-enough");
    await user.click(within(dialog).getByRole("button", { name: "Create user" }));
    await waitFor(() => expect(attempts).toBe(2));
    const body = await calls.filter((call) => call.method === "POST")[1]!.json();
    expect(body).toMatchObject({ username: "carol", password: "short-long-enough", role: "operator", is_active: true });
  });

  it("grants and revokes node access for one user", async () => {
    const calls = stubFetch({
      ...meRoute("admin"),
      "GET /api/v1/users": () => pageJson([bob]),
      "GET /api/v1/nodes": () => json([nodeStub("n-1", "pve1"), nodeStub("n-2", "pve2")]),
      "GET /api/v1/nodes/n-1/access": () =>
        json([{ user_id: "u-2", username: "bob", role: "viewer", granted_at: "2026-01-01T10:00:00Z" }]),
      "GET /api/v1/nodes/n-2/access": () => json([]),
      "DELETE /api/v1/nodes/n-1/access/u-2": () => new Response(null, { status: 204 }),
      "POST /api/v1/nodes/n-2/access/u-2": () =>
        json({ user_id: "u-2", username: "bob", role: "viewer", granted_at: "2026-01-01T10:00:00Z" }),
    });
    const user = userEvent.setup();
    renderAsPage(<UsersPage />);
    await user.click(await screen.findByRole("button", { name: "Node access for bob" }));
    const dialog = await screen.findByRole("dialog", { name: "Node access: bob" });
    const pve1 = await within(dialog).findByRole("checkbox", { name: "pve1" });
    const pve2 = within(dialog).getByRole("checkbox", { name: "pve2" });
    await waitFor(() => expect(pve1).toBeChecked());
    expect(pve2).not.toBeChecked();
    await user.click(pve1);
    await user.click(pve2);
    await user.click(within(dialog).getByRole("button", { name: "Save access" }));
    await waitFor(() => expect(calls.some((call) => call.method === "POST" && call.url.endsWith("/n-2/access/u-2"))).toBe(true));
    expect(calls.some((call) => call.method === "DELETE" && call.url.endsWith("/n-1/access/u-2"))).toBe(true);
  });

  it("edits the role and active flag with PATCH", async () => {
    const calls = stubFetch({
      ...meRoute("admin"),
      "GET /api/v1/users": () => pageJson([bob]),
      "GET /api/v1/users/u-2/oidc-links": () => json([]),
      "PATCH /api/v1/users/u-2": () => json({ ...bob, is_active: false }),
    });
    const user = userEvent.setup();
    renderAsPage(<UsersPage />);
    await user.click(await screen.findByRole("button", { name: "Edit user bob" }));
    const dialog = await screen.findByRole("dialog", { name: "Edit user bob" });
    expect(await within(dialog).findByText("No SSO identity is linked to this user.")).toBeInTheDocument();
    await user.click(within(dialog).getByRole("switch", { name: /^Active/ }));
    await user.click(within(dialog).getByRole("button", { name: "Save user" }));
    await waitFor(() => expect(calls.some((call) => call.method === "PATCH")).toBe(true));
    expect(await calls.find((call) => call.method === "PATCH")!.json()).toEqual({ is_active: false });
  });
});
