import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";

import { json, pageJson, stubFetch } from "../../test/render";
import { meRoute, renderAsPage } from "./components/testing";
import TokensPage from "./TokensPage";

const token = {
  id: "t-1",
  name: "ci",
  user_id: "u-1",
  prefix: "lxcm_AbCd",
  scopes: ["read"],
  created_at: "2026-01-01T10:00:00Z",
  expires_at: null,
  last_used_at: null,
  revoked_at: null,
};

describe("TokensPage", () => {
  it("shows the new secret once, with a copy button, and forgets it on close", async () => {
    const calls = stubFetch({
      ...meRoute("operator"),
      "GET /api/v1/tokens": () => pageJson([]),
      "POST /api/v1/tokens": () => json({ ...token, name: "deploy", scopes: ["read", "write"], token: "lxcm_SECRET_VALUE" }, 201),
    });
    const user = userEvent.setup();
    renderAsPage(<TokensPage />);
    await user.click(await screen.findByRole("button", { name: "New token" }));
    const form = await screen.findByRole("dialog", { name: "New API token" });
    await user.type(within(form).getByRole("textbox", { name: /^Name/ }), "deploy");
    // An operator may grant read and write, not admin.
    expect(within(form).queryByRole("checkbox", { name: /^admin/ })).not.toBeInTheDocument();
    await user.click(within(form).getByRole("checkbox", { name: /^write/ }));
    await user.click(within(form).getByRole("button", { name: "Create token" }));

    const secret = await screen.findByRole("dialog", { name: "Your new API token" });
    expect(within(secret).getByText("lxcm_SECRET_VALUE")).toBeInTheDocument();
    expect(within(secret).getByText(/You will not see it again/)).toBeInTheDocument();
    expect(within(secret).getByRole("button", { name: "Copy token" })).toBeInTheDocument();
    const post = calls.find((call) => call.method === "POST")!;
    expect(await post.json()).toEqual({ name: "deploy", scopes: ["read", "write"], expires_in_days: 90 });

    await user.click(within(secret).getByRole("button", { name: "I have stored it" }));
    await waitFor(() => expect(screen.queryByText("lxcm_SECRET_VALUE")).not.toBeInTheDocument());
  });

  it("revokes a token after confirmation", async () => {
    const calls = stubFetch({
      ...meRoute("viewer"),
      "GET /api/v1/tokens": () => pageJson([token]),
      "DELETE /api/v1/tokens/t-1": () => new Response(null, { status: 204 }),
    });
    const user = userEvent.setup();
    renderAsPage(<TokensPage />);
    expect(await screen.findByText("Active")).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Revoke token ci" }));
    const dialog = await screen.findByRole("dialog", { name: "Revoke token" });
    expect(calls.some((call) => call.method === "DELETE")).toBe(false);
    await user.click(within(dialog).getByRole("button", { name: "Revoke token" }));
    await waitFor(() => expect(calls.some((call) => call.method === "DELETE")).toBe(true));
  });

  it("shows an empty state", async () => {
    stubFetch({ ...meRoute("viewer"), "GET /api/v1/tokens": () => pageJson([]) });
    renderAsPage(<TokensPage />);
    expect(await screen.findByText("No tokens")).toBeInTheDocument();
    expect(screen.queryByRole("switch", { name: "Everyone's tokens" })).not.toBeInTheDocument();
  });
});
