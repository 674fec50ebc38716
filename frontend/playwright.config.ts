// End-to-end tests in Debian's chromium (Playwright cannot download browsers here) against the real backend
// and the PVE simulator, both started by `lxc-manager demo` in global-setup.ts. Run with `make e2e`.
import { defineConfig, devices } from "@playwright/test";

export const CHROMIUM = process.env.LXCM_CHROMIUM ?? "/usr/bin/chromium";
// The flags this sandbox needs: no background network (the machine has no internet), no GPU, root.
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
];

export default defineConfig({
  testDir: "./e2e",
  globalSetup: "./e2e/global-setup.ts",
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 15_000 },
  forbidOnly: !!process.env.CI,
  reporter: [["list"]],
  outputDir: "../test-artifacts/e2e-results",
  use: {
    ...devices["Desktop Chrome"],
    viewport: { width: 1280, height: 800 },
    launchOptions: { executablePath: CHROMIUM, args: CHROMIUM_ARGS },
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
  },
});
