import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";

import { json, renderWithApp, stubFetch } from "../../../test/render";
import TemplateDetailPage from "../TemplateDetailPage";
import { detail } from "./fixtures";

vi.mock("../../../auth/AuthContext", () => ({ useAuth: () => ({ canWrite: true, isAdmin: false, me: null }) }));

const route = { route: "/templates/:name" };

describe("TemplateDetailPage", () => {
  it("shows the config and the actions, and highlights scripts", async () => {
    stubFetch({ "GET /api/v1/templates/web": () => json(detail("web")) });
    renderWithApp(<TemplateDetailPage />, { path: "/templates/web", ...route });

    expect(await screen.findByRole("heading", { name: "web" })).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Deploy" })).toHaveAttribute("href", "/deploy?template=web");
    expect(screen.getByRole("link", { name: "Edit" })).toHaveAttribute("href", "/templates/web/edit");
    expect(screen.getByRole("link", { name: "Export" })).toHaveAttribute("href", "/api/v1/templates/web/export");
    expect(screen.getByText("1024 MiB")).toBeInTheDocument();

    await userEvent.click(screen.getByRole("tab", { name: "Scripts" }));
    const code = await screen.findByLabelText("scripts/10-install.sh");
    expect(code.querySelector('[data-token="comment"]')).toHaveTextContent("#!/bin/bash");
  });

  it("shows a 409 on delete clearly", async () => {
    stubFetch({
      "GET /api/v1/templates/web": () => json(detail("web")),
      "DELETE /api/v1/templates/web": () =>
        json({ error: "conflict", detail: "the template folder is read-only" }, 409),
    });
    renderWithApp(<TemplateDetailPage />, { path: "/templates/web", ...route });
    await userEvent.click(await screen.findByRole("button", { name: "Delete" }));
    const dialog = await screen.findByRole("dialog");
    await userEvent.click(within(dialog).getByRole("button", { name: "Delete template" }));
    expect(await within(dialog).findByRole("alert")).toHaveTextContent(
      "The template cannot be deleted: the template folder is read-only",
    );
  });

  it("shows the error state for an unknown template", async () => {
    stubFetch({ "GET /api/v1/templates/nope": () => json({ error: "not_found", detail: "template 'nope' not found" }, 404) });
    renderWithApp(<TemplateDetailPage />, { path: "/templates/nope", ...route });
    expect(await screen.findByText("template 'nope' not found")).toBeInTheDocument();
  });
});
