// Screenshots of every main page — light and dark, desktop and 375 px — into test-artifacts/screenshots/;
// on the way, every control of every page must have an accessible name (axe-core's naming rules).
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";

import { expect, type Page, test } from "@playwright/test";

import { expectNamedControls } from "./a11y";
import { ApiSession, baseURL, signIn } from "./helpers";
import { deployAndWait } from "./deploy-helpers";

const OUT = fileURLToPath(new URL("../../test-artifacts/screenshots/", import.meta.url));
const VIEWPORTS = { desktop: { width: 1280, height: 800 }, phone: { width: 375, height: 812 } } as const;
const SCHEMES = ["light", "dark"] as const;

async function settle(page: Page): Promise<void> {
  await expect(page.locator("h1").first()).toBeVisible();
  await expect(page.locator(".mantine-Loader-root")).toHaveCount(0, { timeout: 20_000 });
}

test("screenshots of the main pages", async ({ browser }) => {
  test.setTimeout(240_000);
  mkdirSync(OUT, { recursive: true });
  const admin = await ApiSession.open();
  const deploymentId = await deployAndWait(admin, "minimal");
  await admin.close();

  const pages: Record<string, string> = {
    templates: "/templates",
    "template-detail": "/templates/minimal",
    "template-editor": "/templates/minimal/edit",
    buckets: "/buckets",
    wizard: "/deploy?template=minimal",
    deployments: "/deployments",
    progress: `/deployments/${deploymentId}`,
    nodes: "/settings/nodes",
    users: "/settings/users",
    tokens: "/settings/tokens",
    audit: "/settings/audit",
  };

  for (const scheme of SCHEMES) {
    for (const [size, viewport] of Object.entries(VIEWPORTS)) {
      // bypassCSP: the page forbids inline scripts, and axe-core is injected as one.
      const context = await browser.newContext({ viewport, colorScheme: scheme, bypassCSP: true });
      await context.addInitScript((value) => window.localStorage.setItem("lxcm-color-scheme", value), scheme);
      const page = await context.newPage();
      await page.goto(`${baseURL()}/login`);
      await settle(page);
      await page.screenshot({ path: `${OUT}login-${scheme}-${size}.png`, fullPage: true });
      if (scheme === "light") await expectNamedControls(page, `login (${size})`);
      await signIn(page);
      for (const [name, path] of Object.entries(pages)) {
        await page.goto(`${baseURL()}${path}`);
        await settle(page);
        await page.screenshot({ path: `${OUT}${name}-${scheme}-${size}.png`, fullPage: true });
        if (scheme === "light") await expectNamedControls(page, `${name} (${size})`);
      }
      await context.close();
    }
  }
});
