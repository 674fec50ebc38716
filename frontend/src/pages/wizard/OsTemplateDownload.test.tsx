import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";

import { json, renderWithApp, stubFetch } from "../../test/render";
import { OsTemplateDownload } from "./OsTemplateDownload";

const downloadable = [
  { template: "ubuntu-24.04-standard_24.04-2_amd64.tar.zst", package: null, headline: null, os: null, version: null, section: null, architecture: null, description: null },
  { template: "debian-12-standard_12.7-1_amd64.tar.zst", package: null, headline: null, os: null, version: null, section: null, architecture: null, description: null },
];
const UPID = "UPID:pve1:0001:0002:0003:download:debian-12:root@pam!t:";
const task = (status: string, ok: boolean | null) => ({
  upid: UPID, node_id: "n1", type: "download", status, exitstatus: ok ? "OK" : null, ok, starttime: 1,
  log_tail: ok ? ["TASK OK"] : ["downloading…"], status_url: "/x",
});

describe("OsTemplateDownload", () => {
  it("starts a download of the template's OS and follows the task until it ends", async () => {
    let polls = 0;
    const calls = stubFetch({
      "GET /api/v1/nodes/n1/storages": () => json([{ storage: "local", type: "dir", content: ["vztmpl"], shared: false, active: true, total: 1, used: 0, avail: 1, supports_containers: false, supports_templates: true }]),
      "POST /api/v1/nodes/n1/os-templates/download": () => json(task("running", null), 202),
      [`GET /api/v1/nodes/n1/tasks/${encodeURIComponent(UPID)}`]: () => {
        polls += 1;
        return json(polls < 2 ? task("running", null) : task("stopped", true));
      },
    });
    const user = userEvent.setup();
    renderWithApp(<OsTemplateDownload nodeId="n1" downloadable={downloadable} osTemplate="debian-12-standard" />);
    // The template's own OS is offered first.
    expect(await screen.findByRole("combobox", { name: "Available to download" })).toHaveValue("debian-12-standard_12.7-1_amd64.tar.zst");
    await waitFor(() => expect(screen.getByRole("combobox", { name: "Download to storage" })).toHaveValue("local"));
    await user.click(screen.getByRole("button", { name: "Download" }));
    expect(await screen.findByText("Download finished", {}, { timeout: 5000 })).toBeInTheDocument();
    const post = calls.find((c) => c.method === "POST");
    expect(await post?.json()).toEqual({ storage: "local", template: "debian-12-standard_12.7-1_amd64.tar.zst" });
  });
});
