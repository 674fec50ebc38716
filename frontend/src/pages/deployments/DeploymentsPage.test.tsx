import { screen } from "@testing-library/react";

import { json, pageJson, stubFetch } from "../../test/render";
import { meRoute, renderAsPage } from "../settings/components/testing";
import DeploymentsPage from "./DeploymentsPage";
import { deploymentDetail } from "./fixtures";


describe("DeploymentsPage", () => {
  it("lists deployments with status and a link to their progress", async () => {
    stubFetch({ ...meRoute("operator"), "GET /api/v1/deployments": () => pageJson([deploymentDetail()], 120) });
    renderAsPage(<DeploymentsPage />);
    const link = await screen.findByRole("link", { name: "Open deployment web-1" });
    expect(link).toHaveAttribute("href", "/deployments/d1");
    expect(screen.getByText("succeeded")).toBeInTheDocument();
    expect(screen.getByText("pve-a")).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "New deployment" })).toHaveAttribute("href", "/deploy");
    expect(screen.getByRole("button", { name: "3" })).toBeInTheDocument(); // 120 deployments, 50 a page
  });

  it("shows empty and error states", async () => {
    stubFetch({ ...meRoute("viewer"), "GET /api/v1/deployments": () => pageJson([]) });
    const { unmount } = renderAsPage(<DeploymentsPage />);
    expect(await screen.findByText("No deployments yet")).toBeInTheDocument();
    expect(screen.queryByRole("link", { name: "New deployment" })).not.toBeInTheDocument();
    unmount();
    stubFetch({ ...meRoute("viewer"), "GET /api/v1/deployments": () => json({ error: "boom", detail: "Database down" }, 500) });
    renderAsPage(<DeploymentsPage />);
    expect(await screen.findByText("Database down")).toBeInTheDocument();
  });
});
