import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";

import { json, renderWithApp, stubFetch } from "../../../test/render";
import TemplatesPage from "../TemplatesPage";
import { emptyBuckets, page, summary } from "./fixtures";

vi.mock("../../../auth/AuthContext", () => ({ useAuth: () => ({ canWrite: true, isAdmin: false, me: null }) }));

const listCalls = (calls: Request[]) => calls.filter((c) => new URL(c.url).pathname === "/api/v1/templates");

describe("TemplatesPage", () => {
  it("lists templates with deploy links and puts the search into the request query", async () => {
    const calls = stubFetch({
      "GET /api/v1/templates": (request) => {
        const q = new URL(request.url).searchParams.get("q");
        return json(page(q ? [summary("nginx")] : [summary("nginx"), summary("postgres")]));
      },
      "GET /api/v1/buckets": () => json(emptyBuckets),
    });
    renderWithApp(<TemplatesPage />, { path: "/templates" });

    expect(await screen.findByRole("link", { name: "postgres" })).toHaveAttribute("href", "/templates/postgres");
    expect(screen.getByRole("link", { name: "Deploy nginx" })).toHaveAttribute("href", "/deploy?template=nginx");
    expect(screen.getByRole("link", { name: "New template" })).toHaveAttribute("href", "/templates/new");
    expect(listCalls(calls)[0]!.url).toContain("limit=24");

    await userEvent.type(screen.getByRole("textbox", { name: "Search templates" }), "ngi");
    await waitFor(() => expect(screen.queryByRole("link", { name: "postgres" })).not.toBeInTheDocument());
    const last = new URL(listCalls(calls).at(-1)!.url);
    expect(last.searchParams.get("q")).toBe("ngi");
    expect(last.searchParams.get("offset")).toBe("0");
  });

  it("reads filters from the URL (reload keeps them)", async () => {
    const calls = stubFetch({
      "GET /api/v1/templates": () => json(page([summary("nginx")])),
      "GET /api/v1/buckets": () => json(emptyBuckets),
    });
    renderWithApp(<TemplatesPage />, { path: "/templates?q=web&tag=demo&sort=-updated_at&page=2" });
    await screen.findByRole("link", { name: "nginx" });
    const url = new URL(listCalls(calls)[0]!.url);
    expect(url.searchParams.get("q")).toBe("web");
    expect(url.searchParams.get("tag")).toBe("demo");
    expect(url.searchParams.get("sort")).toBe("-updated_at");
    expect(url.searchParams.get("offset")).toBe("24");
    expect(screen.getByRole("textbox", { name: "Search templates" })).toHaveValue("web");
  });

  it("shows an empty state, distinguishing no templates from no match", async () => {
    stubFetch({
      "GET /api/v1/templates": () => json(page([])),
      "GET /api/v1/buckets": () => json(emptyBuckets),
    });
    const first = renderWithApp(<TemplatesPage />, { path: "/templates" });
    expect(await screen.findByText("No templates yet")).toBeInTheDocument();
    first.unmount();
    renderWithApp(<TemplatesPage />, { path: "/templates?q=zzz" });
    expect(await screen.findByText("No templates match")).toBeInTheDocument();
  });

  it("shows the error state with a retry", async () => {
    stubFetch({
      "GET /api/v1/templates": () => json({ error: "internal_error", detail: "Database is down" }, 500),
      "GET /api/v1/buckets": () => json(emptyBuckets),
    });
    renderWithApp(<TemplatesPage />, { path: "/templates" });
    expect(await screen.findByText("Database is down")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Try again" })).toBeInTheDocument();
  });

  it("syncs from disk and lists broken templates with their errors", async () => {
    stubFetch({
      "GET /api/v1/templates": () => json(page([summary("nginx")])),
      "GET /api/v1/buckets": () => json(emptyBuckets),
      "POST /api/v1/templates/sync": () =>
        json({
          added: ["redis"],
          updated: [],
          unchanged: ["nginx"],
          archived: [],
          errors: [{ file: "broken/template.yaml", line: 3, column: 5, field: "container.cores", message: "too small" }],
          buckets: { added: [], updated: [], unchanged: [], removed: [] },
        }),
    });
    renderWithApp(<TemplatesPage />, { path: "/templates" });
    await userEvent.click(await screen.findByRole("button", { name: "Sync from disk" }));
    expect(await screen.findByText("1 added")).toBeInTheDocument();
    expect(screen.getByText("Broken templates (not imported)")).toBeInTheDocument();
    expect(screen.getByText("broken/template.yaml:3:5")).toBeInTheDocument();
    expect(screen.getByText(/too small/)).toBeInTheDocument();
  });
});
