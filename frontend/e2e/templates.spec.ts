// The template editor against the real server: a validation error lands on its field and nothing is lost.
import { expect, test } from "@playwright/test";

import { openNewTemplate } from "./helpers";

test("the editor shows the server's validation error on the field", async ({ page }) => {
  await openNewTemplate(page, "e2e-invalid");
  await page.getByRole("button", { name: "Add script" }).click();
  await page.getByLabel("Script 1 file name").fill("bad name.sh");
  await page.getByLabel("Script 1 content").fill("echo never saved\n");
  await page.getByRole("button", { name: "Save template" }).click();
  await expect(page.getByText("The template was not saved")).toBeVisible();
  await expect(page.getByLabel("Script 1 file name")).toHaveAttribute("aria-invalid", "true");
  await expect(page).toHaveURL(/\/templates\/new$/); // nothing saved, the input is still there
  await expect(page.getByLabel("Script 1 content")).toHaveValue("echo never saved\n");
});
