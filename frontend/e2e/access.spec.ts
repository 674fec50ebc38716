// Node access: an operator sees and deploys only onto the nodes granted to them; a node taken away mid-wizard
// is refused by the server, and other people's deployments on other nodes stay invisible.
import { expect, test } from "@playwright/test";

import { deployAndWait } from "./deploy-helpers";
import { ApiSession, baseURL, signIn } from "./helpers";

const OPERATOR = "e2e-operator";
const OPERATOR_PASSWORD = "operator-pass-4821";

interface Node {
  id: string;
  name: string;
}

test("an operator only reaches the nodes granted to them", async ({ page }) => {
  test.setTimeout(120_000);
  const admin = await ApiSession.open();
  const nodes = await admin.json<Node[]>("/api/v1/nodes");
  const allowed = nodes.find((node) => node.name === "demo-pve2")!;
  const created = await admin.send("POST", "/api/v1/users", {
    username: OPERATOR,
    password: OPERATOR_PASSWORD,
    role: "operator",
  });
  expect(created.status(), await created.text()).toBe(201);
  const { id: operatorId } = (await created.json()) as { id: string };
  const grant = await admin.send("POST", `/api/v1/nodes/${allowed.id}/access/${operatorId}`);
  expect(grant.ok(), await grant.text()).toBe(true);
  const adminsDeployment = await deployAndWait(admin, "minimal"); // on demo-pve1

  await signIn(page, OPERATOR, OPERATOR_PASSWORD);
  await page.goto(`${baseURL()}/settings/nodes`);
  const table = page.getByRole("table", { name: "Nodes" });
  await expect(table.getByText("demo-pve2", { exact: true })).toBeVisible();
  await expect(table.getByText("demo-pve1", { exact: true })).toHaveCount(0);

  await page.goto(`${baseURL()}/deploy?template=minimal`);
  await page.getByRole("button", { name: "Next" }).click();
  await page.getByRole("combobox", { name: "Node" }).click();
  await expect(page.getByRole("option")).toHaveCount(1);
  await page.getByRole("option", { name: "demo-pve2 (pve2)" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "This node cannot be used" })).toHaveCount(0);

  // The admin takes the node away while the operator is in the wizard: the server refuses the plan.
  const revoke = await admin.send("DELETE", `/api/v1/nodes/${allowed.id}/access/${operatorId}`);
  expect(revoke.ok(), await revoke.text()).toBe(true);
  for (let step = 0; step < 3; step++) await page.getByRole("button", { name: "Next" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "You have no access to this node" })).toBeVisible();
  await expect(page.getByRole("button", { name: "Create container" })).toBeDisabled();

  await page.goto(`${baseURL()}/deployments/${adminsDeployment}`);
  await expect(page.getByText("Deployment not found")).toBeVisible();
  await admin.close();
});
