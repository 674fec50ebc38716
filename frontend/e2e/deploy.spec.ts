// The main journey: create a template with a script and a web service in the editor, deploy it through the
// five-step wizard onto a simulated node, watch the progress page reach success and see the web UI link.
import { expect, test } from "@playwright/test";

import { deployAndWait } from "./deploy-helpers";
import { ApiSession, baseURL, openNewTemplate, signIn } from "./helpers";

const TEMPLATE = "e2e-web";
const SCRIPT = ["#!/bin/sh", "set -eu", "echo 'configuring the e2e web server'", "systemctl enable --now nginx", ""].join("\n");

test("create a template, deploy it through the wizard, watch it succeed, see its links", async ({ page }) => {
  test.setTimeout(120_000);
  await openNewTemplate(page, TEMPLATE);
  const extra = page.getByRole("combobox", { name: "Extra packages" });
  await extra.fill("nginx");
  await extra.press("Enter");
  await page.getByRole("button", { name: "Add script" }).click();
  await page.getByLabel("Script 1 file name").fill("10-web.sh");
  await page.getByLabel("Script 1 content").fill(SCRIPT);
  await page.getByRole("button", { name: "Add service" }).click();
  await page.getByLabel("Service 1 name").fill("web");
  await page.getByLabel("Service 1 systemd unit").fill("nginx.service");
  await page.getByLabel("Service 1 port").fill("80");
  await page.getByRole("combobox", { name: "Service 1 protocol" }).click();
  await page.getByRole("option", { name: "http", exact: true }).click();
  await page.getByLabel("Service 1 web UI path").fill("/");
  await page.getByRole("button", { name: "Save template" }).click();
  await expect(page).toHaveURL(new RegExp(`/templates/${TEMPLATE}$`));
  await page.getByRole("tab", { name: "Scripts" }).click();
  await expect(page.getByText("configuring the e2e web server")).toBeVisible();

  // The wizard, from the template's Deploy action: template → node → resources → network → review.
  await page.getByRole("link", { name: "Deploy", exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`/deploy\\?template=${TEMPLATE}`));
  await page.getByRole("button", { name: "Next" }).click();
  await page.getByRole("combobox", { name: "Node" }).click();
  await page.getByRole("option", { name: "demo-pve1 (pve1)" }).click();
  await page.getByRole("button", { name: "Next" }).click();
  await expect(page.getByRole("textbox", { name: "Cores" })).toBeVisible();
  await page.getByRole("button", { name: "Next" }).click();
  await page.getByRole("textbox", { name: "Hostname" }).fill("e2e-web-1");
  await page.getByRole("button", { name: "Back" }).click(); // back and forth keeps what was typed
  await page.getByRole("button", { name: "Next" }).click();
  await expect(page.getByRole("textbox", { name: "Hostname" })).toHaveValue("e2e-web-1");
  await page.getByRole("button", { name: "Next" }).click();
  await expect(page.getByText("10-web.sh").first()).toBeVisible(); // the server's plan lists the script
  await page.getByRole("button", { name: "Create container" }).click();

  await expect(page).toHaveURL(/\/deployments\/[0-9a-f-]{36}$/);
  await expect(page.getByRole("log", { name: "Deployment log" })).toBeVisible();
  await expect(page.getByRole("status").filter({ hasText: "Deployment succeeded" })).toBeVisible({ timeout: 60_000 });
  await expect(page.getByRole("log", { name: "Deployment log" })).toContainText("configuring the e2e web server");
  await expect(page.getByLabel("Container address")).toContainText(/\d+\.\d+\.\d+\.\d+/);
  const links = page.getByRole("list", { name: "Web UI links" });
  await expect(links.getByRole("link")).toHaveCount(1);
  await expect(links.getByRole("link").first()).toHaveAttribute("href", /^http:\/\/\d+\.\d+\.\d+\.\d+:80\/?$/);
});

test("a stored credential is revealed on request, and the reveal is audited", async ({ page }) => {
  const admin = await ApiSession.open();
  const deploymentId = await deployAndWait(admin, "minimal");
  await signIn(page);
  await page.goto(`${baseURL()}/deployments/${deploymentId}`);
  await expect(page.getByRole("status").filter({ hasText: "Deployment succeeded" })).toBeVisible();
  await page.getByRole("button", { name: "Reveal admin_password" }).click();
  await expect(page.getByRole("button", { name: "Hide admin_password" })).toBeVisible();
  const audit = await admin.json<{ items: { action: string }[] }>("/api/v1/audit?action=container.credential.reveal");
  expect(audit.items.some((event) => event.action === "container.credential.reveal")).toBe(true);
  await admin.close();
});
