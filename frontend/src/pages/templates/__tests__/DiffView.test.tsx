import { MantineProvider } from "@mantine/core";
import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";

import { json, renderWithApp, stubFetch } from "../../../test/render";
import { DiffView } from "../components/DiffView";
import { RevisionsTab } from "../detail/RevisionsTab";

const DIFF = "--- a/scripts/x.sh\n+++ b/scripts/x.sh\n@@ -1,2 +1,2 @@\n echo keep\n-echo old\n+echo new\n";

describe("DiffView", () => {
  it("marks added, removed, hunk and context lines", () => {
    const { container } = render(
      <MantineProvider>
        <DiffView diff={DIFF} label="Diff" />
      </MantineProvider>,
    );
    const kinds = [...container.querySelectorAll("[data-diff]")].map((el) => [el.getAttribute("data-diff"), el.textContent]);
    expect(kinds).toEqual([
      ["header", "--- a/scripts/x.sh"],
      ["header", "+++ b/scripts/x.sh"],
      ["hunk", "@@ -1,2 +1,2 @@"],
      ["context", " echo keep"],
      ["removed", "-echo old"],
      ["added", "+echo new"],
    ]);
  });

  it("diffs the two revisions picked in the Revisions tab", async () => {
    const calls = stubFetch({
      "GET /api/v1/templates/web/revisions": () =>
        json({
          items: [3, 2, 1].map((number) => ({
            number,
            content_hash: "h",
            author: "admin",
            message: `change ${number}`,
            created_at: "2026-01-01T00:00:00Z",
          })),
          total: 3,
          limit: 200,
          offset: 0,
        }),
      "GET /api/v1/templates/web/diff": () =>
        json({
          template: "web",
          from_revision: 2,
          to_revision: 3,
          files: [{ path: "scripts/x.sh", status: "modified", binary: false, diff: DIFF }],
        }),
    });
    renderWithApp(<RevisionsTab name="web" current={3} />);
    expect(await screen.findByText("change 2")).toBeInTheDocument();
    expect(await screen.findByText("+echo new")).toBeInTheDocument();
    const first = new URL(calls.find((c) => c.url.includes("/diff"))!.url);
    expect([first.searchParams.get("from"), first.searchParams.get("to")]).toEqual(["2", "3"]);

    await userEvent.click(screen.getAllByLabelText("From revision")[0]!);
    await userEvent.click((await screen.findAllByRole("option", { name: "Revision 1", hidden: true }))[0]!);
    await screen.findByText("+echo new");
    const urls = calls.filter((c) => c.url.includes("/diff")).map((c) => new URL(c.url).searchParams.get("from"));
    expect(urls).toContain("1");
  });
});
