import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";

import { json, stubFetch } from "../../test/render";
import AuditPage from "./AuditPage";
import { toInstant } from "./components/AuditFilters";
import { meRoute, renderAsPage, userOut } from "./components/testing";

const event = (id: string, action: string, outcome = "success") => ({
  id,
  at: "2026-03-04T05:06:07Z",
  actor_id: "u-1",
  actor_name: "alice",
  action,
  target_type: "node",
  target_id: "n-1",
  outcome,
  client_ip: "192.0.2.9",
  request_id: "req-1",
  details: { name: "pve1" },
});

describe("AuditPage", () => {
  it("is forbidden for non-admins", async () => {
    const calls = stubFetch({ ...meRoute("viewer") });
    renderAsPage(<AuditPage />);
    expect(await screen.findByText("Admins only")).toBeInTheDocument();
    expect(calls.some((call) => call.url.includes("/api/v1/audit"))).toBe(false);
  });

  it("shows events, their details, and filters and pages through the API", async () => {
    const calls = stubFetch({
      ...meRoute("admin"),
      "GET /api/v1/users": () => json({ items: [userOut()], total: 1, limit: 500, offset: 0 }),
      "GET /api/v1/audit": (request) => {
        const offset = Number(new URL(request.url).searchParams.get("offset"));
        return json({ items: [event(`e-${offset}`, "node.create", offset ? "denied" : "success")], total: 120, limit: 50, offset });
      },
    });
    const user = userEvent.setup();
    renderAsPage(<AuditPage />);
    expect(await screen.findByText("node.create")).toBeInTheDocument();
    expect(screen.getByText("1–1 of 120")).toBeInTheDocument();

    await user.click(screen.getByRole("button", { name: "Show details" }));
    expect(screen.getByText(/"name": "pve1"/)).toBeInTheDocument();

    await user.click(screen.getByRole("button", { name: "2" }));
    expect(await screen.findByText("denied")).toBeInTheDocument();

    await user.type(screen.getByRole("textbox", { name: "Action starts with" }), "auth.");
    await waitFor(() =>
      expect(calls.some((call) => new URL(call.url).searchParams.get("action") === "auth.")).toBe(true),
    );
    const last = new URL(calls.filter((call) => call.url.includes("/audit")).at(-1)!.url);
    expect(last.searchParams.get("offset")).toBe("0");
  });

  it("turns local datetime input into an instant", () => {
    expect(toInstant("")).toBeUndefined();
    expect(toInstant("2026-01-02T10:30")).toBe(new Date("2026-01-02T10:30").toISOString());
  });
});
