// Shared steps of the end-to-end tests: the demo's URL, signing in through the page, and API calls for set-up.
import { type APIRequestContext, type APIResponse, expect, type Page, request } from "@playwright/test";

export const baseURL = (): string => process.env.LXCM_E2E_URL ?? "";
export const adminPassword = (): string => process.env.LXCM_E2E_ADMIN_PASSWORD ?? "";
export const nodeNames = (): string[] => (process.env.LXCM_E2E_NODES ?? "").split(",").filter(Boolean);

export async function signIn(page: Page, username = "admin", password = adminPassword()): Promise<void> {
  await page.goto(`${baseURL()}/login`);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page).toHaveURL(/\/templates/);
}

/** A cookie session on the API, as a script would hold one; writes carry the CSRF token. */
export class ApiSession {
  private constructor(
    private readonly context: APIRequestContext,
    private readonly csrf: string,
  ) {}

  static async open(username = "admin", password = adminPassword()): Promise<ApiSession> {
    const context = await request.newContext({ baseURL: baseURL() });
    const login = await context.post("/api/v1/auth/login", { data: { username, password } });
    expect(login.status(), await login.text()).toBe(200);
    const { csrf_token: csrf } = (await login.json()) as { csrf_token: string };
    return new ApiSession(context, csrf);
  }

  get(path: string): Promise<APIResponse> {
    return this.context.get(path);
  }

  async json<T>(path: string): Promise<T> {
    const response = await this.context.get(path);
    expect(response.status(), `${path}: ${await response.text()}`).toBe(200);
    return (await response.json()) as T;
  }

  send(method: "POST" | "PUT" | "PATCH" | "DELETE", path: string, data?: unknown): Promise<APIResponse> {
    return this.context.fetch(path, { method, data, headers: { "X-CSRF-Token": this.csrf } });
  }

  close(): Promise<void> {
    return this.context.dispose();
  }
}

/** Sign in as admin and open the template editor on a new template with its name and description filled. */
export async function openNewTemplate(page: Page, name: string): Promise<void> {
  await signIn(page);
  await page.getByRole("link", { name: "New template" }).click();
  await expect(page).toHaveURL(/\/templates\/new$/);
  await page.getByLabel("Template name").fill(name);
  await page.getByLabel("Template description").fill("Created by the end-to-end test");
}
