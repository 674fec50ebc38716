import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";

import { json, stubFetch } from "../../test/render";
import { meRoute, renderAsPage } from "../settings/components/testing";
import { deploymentDetail } from "./fixtures";
import ProgressPage from "./ProgressPage";
import { event, frame, sseResponse } from "./testing";

const route = { path: "/deployments/d1", route: "/deployments/:id" };
const resultEvent = event(3, { type: "result", status: "succeeded", phase: "finalize", message: "deployment succeeded" });

describe("ProgressPage", () => {
  it("shows the log, the links and reveals a credential on click through the audited endpoint", async () => {
    const calls = stubFetch({
      ...meRoute("operator"),
      "GET /api/v1/deployments/d1": () => json(deploymentDetail()),
      "GET /api/v1/deployments/d1/events": () => sseResponse([frame(event(1, { message: "hello from apt" })), frame(event(2)) + frame(resultEvent)]),
      "GET /api/v1/containers/c1": () =>
        json({ ...deploymentDetail(), id: "c1", credentials: [{ name: "admin_password", description: "Admin login" }] }),
      "POST /api/v1/containers/c1/credentials/admin_password/reveal": () =>
        json({ container_id: "c1", name: "admin_password", description: "Admin login", value: "pa55-word" }, 200, { "cache-control": "no-store" }),
    });
    const user = userEvent.setup();
    renderAsPage(<ProgressPage />, route);

    expect(await screen.findByText("Deployment succeeded")).toBeInTheDocument();
    const log = screen.getByRole("log", { name: "Deployment log" });
    expect(await within(log).findByText("hello from apt")).toBeInTheDocument();
    expect(await screen.findByText("Log complete")).toBeInTheDocument();
    expect(screen.getByRole("link", { name: /Admin UI/ })).toHaveAttribute("href", "https://10.0.0.5:8443/");
    expect(screen.getByLabelText("Container address")).toHaveTextContent("10.0.0.5");

    expect(screen.queryByText("pa55-word")).not.toBeInTheDocument();
    await user.click(await screen.findByRole("button", { name: "Reveal admin_password" }));
    expect(await screen.findByText("pa55-word")).toBeInTheDocument();
    expect(calls.filter((c) => c.method === "POST").map((c) => new URL(c.url).pathname)).toEqual([
      "/api/v1/containers/c1/credentials/admin_password/reveal",
    ]);
    expect(screen.getByRole("button", { name: "Copy admin_password" })).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Hide admin_password" }));
    expect(screen.queryByText("pa55-word")).not.toBeInTheDocument();
  });

  it("offers no reveal to a viewer", async () => {
    stubFetch({
      ...meRoute("viewer"),
      "GET /api/v1/deployments/d1": () => json(deploymentDetail()),
      "GET /api/v1/deployments/d1/events": () => sseResponse([frame(resultEvent)]),
      "GET /api/v1/containers/c1": () => json({ ...deploymentDetail(), id: "c1", credentials: [{ name: "admin_password" }] }),
    });
    renderAsPage(<ProgressPage />, route);
    expect(await screen.findByText("admin_password")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Reveal admin_password" })).not.toBeInTheDocument();
  });

  it("cancels a running deployment after a confirmation", async () => {
    const running = deploymentDetail({ status: "running", phase: "provision" });
    const calls = stubFetch({
      ...meRoute("operator"),
      "GET /api/v1/deployments/d1": () => json(running),
      // An open stream that sends one line and stays open.
      "GET /api/v1/deployments/d1/events": () => new Response(new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode(frame(event(1)))); } }), { headers: { "content-type": "text/event-stream" } }),
      "POST /api/v1/deployments/d1/cancel": () => json({ ...running, cancel_requested: true }),
    });
    const user = userEvent.setup();
    renderAsPage(<ProgressPage />, route);
    await user.click(await screen.findByRole("button", { name: "Cancel deployment" }));
    const dialog = await screen.findByRole("dialog", { name: "Cancel this deployment?" });
    await user.click(within(dialog).getByRole("button", { name: "Yes, cancel" }));
    await waitFor(() => expect(calls.some((c) => c.method === "POST" && c.url.endsWith("/cancel"))).toBe(true));
    expect(await screen.findByRole("button", { name: "Cancelling…" })).toBeDisabled();
  });

  it("shows the error of a failed deployment and retries it", async () => {
    const failed = deploymentDetail({ status: "failed", phase: "provision", error_code: "script_failed", error_message: "setup.sh exited 3" });
    const calls = stubFetch({
      ...meRoute("operator"),
      "GET /api/v1/deployments/d1": () => json(failed),
      "GET /api/v1/deployments/d1/events": () => sseResponse([frame(event(1, { type: "result", status: "failed", message: "failed" }))]),
      "POST /api/v1/deployments/d1/retry": () => json({ ...failed, status: "pending", error_message: null }),
    });
    const user = userEvent.setup();
    renderAsPage(<ProgressPage />, route);
    expect(await screen.findByText("Deployment failed")).toBeInTheDocument();
    expect(screen.getByText("setup.sh exited 3")).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Retry deployment" }));
    await waitFor(() => expect(calls.some((c) => c.method === "POST" && c.url.endsWith("/retry"))).toBe(true));
    await waitFor(() => expect(screen.queryByText("Deployment failed")).not.toBeInTheDocument());
  });

  it("explains a deployment on a node the user may not see", async () => {
    stubFetch({
      ...meRoute("operator"),
      "GET /api/v1/deployments/d1": () => json({ error: "not_found", detail: "Deployment not found" }, 404),
    });
    renderAsPage(<ProgressPage />, route);
    expect(await screen.findByText("Deployment not found")).toBeInTheDocument();
  });
});
