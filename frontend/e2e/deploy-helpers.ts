import { expect } from "@playwright/test";

import type { ApiSession } from "./helpers";

interface Node {
  id: string;
  name: string;
}

/** Deploy `template` on the first demo node through the API and wait for success; returns the deployment id. */
export async function deployAndWait(api: ApiSession, template: string): Promise<string> {
  const nodes = await api.json<Node[]>("/api/v1/nodes");
  const created = await api.send("POST", "/api/v1/deployments", { template, node_id: nodes[0]!.id });
  expect(created.status(), await created.text()).toBe(201);
  const { id } = (await created.json()) as { id: string };
  await expect
    .poll(async () => (await api.json<{ status: string }>(`/api/v1/deployments/${id}`)).status, { timeout: 60_000 })
    .toBe("succeeded");
  return id;
}
