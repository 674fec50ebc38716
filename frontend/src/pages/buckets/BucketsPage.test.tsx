import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";

import { json, pageJson, stubFetch } from "../../test/render";
import { meRoute, renderAsPage } from "../settings/components/testing";
import BucketsPage from "./BucketsPage";
import { packagesError, parsePackages } from "./packages";

const bucket = {
  name: "web",
  description: "Web basics",
  packages: ["nginx", "curl=7.88*"],
  origin: "dashboard",
  file: "web.yaml",
  content_hash: "abc",
  created_at: "2026-01-01T10:00:00Z",
  updated_at: "2026-01-02T10:00:00Z",
};

describe("BucketsPage", () => {
  it("lists buckets with their packages", async () => {
    stubFetch({ ...meRoute("viewer"), "GET /api/v1/buckets": () => pageJson([bucket]) });
    renderAsPage(<BucketsPage />);
    expect(await screen.findByText("web")).toBeInTheDocument();
    expect(screen.getByText("curl=7.88*")).toBeInTheDocument();
    // A viewer gets no write controls.
    expect(screen.queryByRole("button", { name: "New bucket" })).not.toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Delete bucket web" })).not.toBeInTheDocument();
  });

  it("shows an empty state", async () => {
    stubFetch({ ...meRoute("operator"), "GET /api/v1/buckets": () => pageJson([]) });
    renderAsPage(<BucketsPage />);
    expect(await screen.findByText("No buckets yet")).toBeInTheDocument();
  });

  it("puts the server's 422 errors on the form fields", async () => {
    const calls = stubFetch({
      ...meRoute("operator"),
      "GET /api/v1/buckets": () => pageJson([]),
      "POST /api/v1/buckets": () =>
        json(
          {
            error: "validation_error",
            detail: "Invalid request",
            fields: [
              { loc: ["body", "name"], msg: "String should match pattern", type: "string_pattern_mismatch" },
              { loc: ["body", "packages", 1], msg: "String should match pattern", type: "string_pattern_mismatch" },
            ],
          },
          422,
        ),
    });
    const user = userEvent.setup();
    renderAsPage(<BucketsPage />);
    await user.click(await screen.findByRole("button", { name: "New bucket" }));
    const dialog = await screen.findByRole("dialog", { name: "New bucket" });
    await user.type(within(dialog).getByRole("textbox", { name: /Name/ }), "Bad Name");
    await user.type(within(dialog).getByRole("textbox", { name: /Packages/ }), "nginx{enter}Not_A_Package");
    await user.click(within(dialog).getByRole("button", { name: "Create bucket" }));

    const name = within(dialog).getByRole("textbox", { name: /Name/ });
    await waitFor(() => expect(name).toHaveAttribute("aria-invalid", "true"));
    expect(name).toHaveAccessibleDescription(expect.stringContaining("String should match pattern"));
    expect(within(dialog).getByRole("textbox", { name: /Packages/ })).toHaveAccessibleDescription(
      expect.stringContaining("Line 2 (Not_A_Package): String should match pattern"),
    );
    const post = calls.find((call) => call.method === "POST")!;
    expect(await post.json()).toEqual({ name: "Bad Name", description: "", packages: ["nginx", "Not_A_Package"] });
  });

  it("a delete refused with 409 lists the templates using the bucket", async () => {
    stubFetch({
      ...meRoute("admin"),
      "GET /api/v1/buckets": () => pageJson([bucket]),
      "DELETE /api/v1/buckets/web": () =>
        json({ error: "bucket_in_use", detail: "bucket 'web' is used by: blog, shop" }, 409),
      "GET /api/v1/buckets/web/templates": () => json({ bucket: "web", templates: ["blog", "shop"] }),
    });
    const user = userEvent.setup();
    renderAsPage(<BucketsPage />);
    await user.click(await screen.findByRole("button", { name: "Delete bucket web" }));
    const dialog = await screen.findByRole("dialog", { name: "Delete bucket" });
    await user.click(within(dialog).getByRole("button", { name: "Delete bucket" }));
    const list = await within(dialog).findByRole("list", { name: "Templates using this bucket" });
    expect(within(list).getByRole("link", { name: "blog" })).toHaveAttribute("href", "/templates/blog");
    expect(within(list).getByRole("link", { name: "shop" })).toBeInTheDocument();
  });

  it("saves an edit with PUT", async () => {
    const calls = stubFetch({
      ...meRoute("operator"),
      "GET /api/v1/buckets": () => pageJson([bucket]),
      "PUT /api/v1/buckets/web": () => json({ ...bucket, packages: ["nginx"], templates: [] }),
    });
    const user = userEvent.setup();
    renderAsPage(<BucketsPage />);
    await user.click(await screen.findByRole("button", { name: "Edit bucket web" }));
    const dialog = await screen.findByRole("dialog", { name: "Edit bucket web" });
    const packages = within(dialog).getByRole("textbox", { name: /Packages/ });
    await user.clear(packages);
    await user.type(packages, "nginx");
    await user.click(within(dialog).getByRole("button", { name: "Save bucket" }));
    await waitFor(() => expect(calls.some((call) => call.method === "PUT")).toBe(true));
    const put = calls.find((call) => call.method === "PUT")!;
    expect(await put.json()).toEqual({ description: "Web basics", packages: ["nginx"] });
  });
});

describe("packages helpers", () => {
  it("parses lines and commas, skipping blanks", () => {
    expect(parsePackages(" nginx \n\ncurl, git\n")).toEqual(["nginx", "curl", "git"]);
  });
  it("names the offending lines", () => {
    expect(packagesError({ "packages.0": "bad" }, ["X"])).toBe("Line 1 (X): bad");
    expect(packagesError({}, [])).toBeUndefined();
  });
});
