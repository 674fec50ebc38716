import { expect, test } from "@playwright/test";

import { baseURL, signIn } from "./helpers";

test("a wrong password is refused with a clear message and no session", async ({ page }) => {
  await page.goto(`${baseURL()}/login`);
  await page.getByLabel("Username").fill("admin");
  await page.getByLabel("Password", { exact: true }).fill("not-the-password");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByRole("alert")).toContainText("Sign-in failed");
  await expect(page).toHaveURL(/\/login/);
  const me = await page.request.get(`${baseURL()}/api/v1/auth/me`);
  expect(me.status()).toBe(401);
});

test("a deep link survives sign-in and a reload; sign-out ends the session", async ({ page }) => {
  await page.goto(`${baseURL()}/buckets`);
  await expect(page).toHaveURL(/\/login\?next=%2Fbuckets/);
  await page.getByLabel("Username").fill("admin");
  await page.getByLabel("Password", { exact: true }).fill(process.env.LXCM_E2E_ADMIN_PASSWORD ?? "");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page).toHaveURL(/\/buckets$/);
  await page.reload();
  await expect(page).toHaveURL(/\/buckets$/);
  await expect(page.getByRole("navigation", { name: "Main navigation" })).toBeVisible();

  await page.getByRole("button", { name: "Account menu" }).click();
  await page.getByRole("menuitem", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login/);
  expect((await page.request.get(`${baseURL()}/api/v1/auth/me`)).status()).toBe(401);
});

test("signing in lands on the templates browser", async ({ page }) => {
  await signIn(page);
  await expect(page.getByRole("link", { name: "Templates" })).toBeVisible();
});
