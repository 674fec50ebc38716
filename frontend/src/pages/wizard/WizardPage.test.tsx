import { MantineProvider } from "@mantine/core";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { configure, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { createMemoryRouter, RouterProvider, useParams } from "react-router";

import { AuthProvider } from "../../auth/AuthContext";
import { RequireAuth } from "../../auth/RequireAuth";
import { json, stubFetch } from "../../test/render";
import { theme } from "../../theme";
import { meRoute } from "../settings/components/testing";
import { bridges, deployDefaults, node, osTemplates, plan, storages, templatesPage } from "./fixtures";
import WizardPage from "./WizardPage";

// A long multi-step flow on a shared, busy CPU: allow more than the default second per wait.
configure({ asyncUtilTimeout: 5000 });

function Progress() {
  return <p>progress of {useParams().id}</p>;
}

function renderWizard(path = "/deploy?template=web") {
  const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false }, mutations: { retry: false } } });
  const guarded = (element: React.ReactNode) => (
    <AuthProvider>
      <RequireAuth>{element}</RequireAuth>
    </AuthProvider>
  );
  const router = createMemoryRouter(
    [
      { path: "/deploy", element: guarded(<WizardPage />) },
      { path: "/deployments/:id", element: guarded(<Progress />) },
    ],
    { initialEntries: [path] },
  );
  return render(
    <MantineProvider theme={theme}>
      <QueryClientProvider client={queryClient}>
        <RouterProvider router={router} />
      </QueryClientProvider>
    </MantineProvider>,
  );
}

function apiRoutes(extra: Record<string, (request: Request) => Response | Promise<Response>> = {}) {
  return {
    ...meRoute("operator"),
    "GET /api/v1/templates": () => json(templatesPage),
    "GET /api/v1/templates/web/deploy-defaults": () => json(deployDefaults),
    "GET /api/v1/nodes": () => json([node]),
    "GET /api/v1/nodes/n1/storages": () => json(storages),
    "GET /api/v1/nodes/n1/os-templates": () => json(osTemplates),
    "GET /api/v1/nodes/n1/next-vmid": () => json({ vmid: 105 }),
    "GET /api/v1/nodes/n1/bridges": () => json(bridges),
    ...extra,
  };
}

async function chooseNode(user: ReturnType<typeof userEvent.setup>) {
  const input = await screen.findByRole("combobox", { name: /^Node/ });
  await user.click(input);
  const listbox = await waitFor(() => document.getElementById(input.getAttribute("aria-controls") ?? "")!);
  await user.click(within(listbox).getByRole("option", { name: "pve-a (pve1)", hidden: true }));
}

describe("WizardPage", () => {
  it("keeps the input across Back/Next and puts the plan's 422 errors on the right step and field", { timeout: 30_000 }, async () => {
    let plans = 0;
    const calls = stubFetch(
      apiRoutes({
        "POST /api/v1/deployments/plan": () => {
          plans += 1;
          if (plans === 1) {
            return json(
              {
                error: "validation_error",
                detail: "hostname: already taken; cores: too many for this node",
                fields: [
                  { loc: ["body", "hostname"], msg: "already taken", type: "value_error" },
                  { loc: ["body", "cores"], msg: "too many for this node", type: "value_error" },
                ],
              },
              422,
            );
          }
          return json(plan);
        },
        "POST /api/v1/deployments": () => json({ id: "d42" }, 201),
      }),
    );
    const user = userEvent.setup();
    renderWizard();

    // Step 1: preselected from ?template=web; its contents are shown.
    expect(await screen.findByText("1 packages")).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Next" }));

    // Step 2: a node is required.
    await user.click(await screen.findByRole("button", { name: "Next" }));
    expect(await screen.findByText("Choose a node")).toBeInTheDocument();
    await chooseNode(user);
    expect(await screen.findByRole("combobox", { name: /^Storage/ })).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Next" }));

    // Step 3: the template's defaults are pre-filled; change one.
    const cores = await screen.findByRole("textbox", { name: /^Cores/ });
    expect(cores).toHaveValue("2");
    await user.clear(cores);
    await user.type(cores, "4");
    await user.click(screen.getByRole("button", { name: "Next" }));

    // Step 4: hostname defaults to the template name; the secret input is a password field, empty.
    const hostname = await screen.findByRole("textbox", { name: /^Hostname/ });
    expect(hostname).toHaveValue("web");
    expect(screen.getByLabelText("db_password")).toHaveAttribute("type", "password");
    expect(screen.getByLabelText("db_password")).toHaveValue("");
    await user.clear(hostname);
    await user.type(hostname, "web-1");

    // Back twice and forward again: nothing is lost.
    await user.click(screen.getByRole("button", { name: "Back" }));
    expect(await screen.findByRole("textbox", { name: /^Cores/ })).toHaveValue("4");
    await user.click(screen.getByRole("button", { name: "Back" }));
    expect(await screen.findByRole("combobox", { name: /^Node/ })).toHaveValue("pve-a (pve1)");
    await user.click(screen.getByRole("button", { name: "Next" }));
    await user.click(await screen.findByRole("button", { name: "Next" }));
    expect(await screen.findByRole("textbox", { name: /^Hostname/ })).toHaveValue("web-1");

    // Review: the server refuses; the earliest step with an error (resources) opens with the message.
    await user.click(screen.getByRole("button", { name: "Next" }));
    expect(await screen.findByText("too many for this node")).toBeInTheDocument();
    expect(screen.getByRole("textbox", { name: /^Cores/ })).toHaveValue("4");
    await user.click(screen.getByRole("button", { name: "Next" }));
    expect(await screen.findByText("already taken")).toBeInTheDocument();
    expect(screen.getByRole("textbox", { name: /^Hostname/ })).toHaveValue("web-1");

    // Fix and plan again: the plan is shown; create navigates to the progress page.
    await user.type(screen.getByRole("textbox", { name: /^Hostname/ }), "x");
    await user.click(screen.getByRole("button", { name: "Next" }));
    expect(await screen.findByText("pct create", { exact: false })).toBeInTheDocument();
    expect(screen.getByRole("table", { name: "Proxmox create parameters" })).toHaveTextContent("********");
    await user.click(screen.getByRole("button", { name: "Create container" }));
    expect(await screen.findByText("progress of d42")).toBeInTheDocument();

    const posts = calls.filter((c) => c.method === "POST");
    const lastPlan = (await posts[1]?.json()) as Record<string, unknown>;
    expect(lastPlan).toMatchObject({ template: "web", node_id: "n1", hostname: "web-1x", cores: 4, memory: 1024 });
    expect(lastPlan.inputs).toEqual({ admin_user: "admin" }); // the empty secret is left to the server
    expect(new URL(posts[2]?.url ?? "").pathname).toBe("/api/v1/deployments");
  });

  it("offers the template's features, firewall and MTU, sends changes and puts an MTU 422 on its field", { timeout: 30_000 }, async () => {
    const container = {
      ...deployDefaults.container,
      features: { nesting: true },
      network: { ...deployDefaults.container.network, firewall: true, mtu: 1400 },
    };
    let plans = 0;
    const calls = stubFetch(
      apiRoutes({
        "GET /api/v1/templates/web/deploy-defaults": () => json({ ...deployDefaults, container }),
        "POST /api/v1/deployments/plan": () => {
          plans += 1;
          if (plans > 1) return json(plan);
          return json(
            {
              error: "validation_error",
              detail: "network.mtu: larger than the bridge allows",
              fields: [{ loc: ["body", "network", "mtu"], msg: "larger than the bridge allows", type: "value_error" }],
            },
            422,
          );
        },
        "POST /api/v1/deployments": () => json({ id: "d7" }, 201),
      }),
    );
    const user = userEvent.setup();
    renderWizard();
    expect(await screen.findByText("1 packages")).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Next" }));
    await chooseNode(user);
    await user.click(screen.getByRole("button", { name: "Next" }));

    // Resources: the features come from the template; turn keyctl on.
    expect(await screen.findByRole("switch", { name: "Nesting" })).toBeChecked();
    expect(screen.getByRole("switch", { name: "FUSE" })).not.toBeChecked();
    expect(screen.getByRole("switch", { name: "keyctl" })).not.toBeChecked();
    await user.click(screen.getByRole("switch", { name: "keyctl" }));
    await user.click(screen.getByRole("button", { name: "Next" }));

    // Network: firewall and MTU from the template; turn the firewall off, raise the MTU.
    const mtu = await screen.findByRole("textbox", { name: /^MTU/ });
    expect(mtu).toHaveValue("1400");
    expect(screen.getByRole("switch", { name: "Firewall" })).toBeChecked();
    await user.click(screen.getByRole("switch", { name: "Firewall" }));
    await user.clear(mtu);
    await user.type(mtu, "9000");
    await user.click(screen.getByRole("button", { name: "Next" }));

    // The server refuses the MTU: back on the network step, the message on the MTU field.
    expect(await screen.findByText("larger than the bridge allows")).toBeInTheDocument();
    const refused = screen.getByRole("textbox", { name: /^MTU/ });
    expect(refused).toHaveAttribute("aria-invalid", "true");
    expect(refused).toHaveValue("9000");
    await user.clear(refused);
    await user.type(refused, "1500");
    await user.click(screen.getByRole("button", { name: "Next" }));

    // The review shows the choices; create sends them.
    expect(await screen.findByText("pct create", { exact: false })).toBeInTheDocument();
    expect(screen.getByText("nesting, keyctl")).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Create container" }));
    expect(await screen.findByText("progress of d7")).toBeInTheDocument();

    const posts = calls.filter((c) => c.method === "POST");
    const firstPlan = (await posts[0]?.json()) as Record<string, Record<string, unknown>>;
    expect(firstPlan.features).toEqual({ nesting: true, keyctl: true, fuse: false });
    expect(firstPlan.network).toMatchObject({ firewall: false, mtu: 9000 });
    const created = (await posts[2]?.json()) as Record<string, Record<string, unknown>>;
    expect(new URL(posts[2]?.url ?? "").pathname).toBe("/api/v1/deployments");
    expect(created.features).toEqual({ nesting: true, keyctl: true, fuse: false });
    expect(created.network).toMatchObject({ firewall: false, mtu: 1500 });
  });

  it("explains a node the user may not use", async () => {
    const forbidden = () => json({ error: "not_found", detail: "Node not found" }, 404);
    stubFetch(
      apiRoutes({
        "GET /api/v1/nodes/n1/storages": forbidden,
        "GET /api/v1/nodes/n1/os-templates": forbidden,
        "GET /api/v1/nodes/n1/next-vmid": forbidden,
      }),
    );
    const user = userEvent.setup();
    renderWizard();
    expect(await screen.findByText("1 packages")).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Next" }));
    await chooseNode(user);
    expect(await screen.findByText("This node cannot be used")).toBeInTheDocument();
    expect(screen.getByText(/You have no access to this node/)).toBeInTheDocument();
  });

  it("refuses a viewer", async () => {
    stubFetch({ ...meRoute("viewer") });
    renderWizard();
    await waitFor(() => expect(screen.getByText(/needs the operator or admin role/)).toBeInTheDocument());
    expect(screen.queryByRole("button", { name: "Next" })).not.toBeInTheDocument();
  });
});
