// Render a component as the app does: Mantine, a fresh QueryClient, a router at `path`.
import { MantineProvider } from "@mantine/core";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, type RenderResult } from "@testing-library/react";
import type { ReactElement } from "react";
import { createMemoryRouter, RouterProvider } from "react-router";

import { theme } from "../theme";

export interface RenderOptions {
  path?: string;
  route?: string; // the route pattern, e.g. "/templates/:name"
}

export function renderWithApp(ui: ReactElement, { path = "/", route = "*" }: RenderOptions = {}): RenderResult & {
  queryClient: QueryClient;
} {
  const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false }, mutations: { retry: false } } });
  const router = createMemoryRouter([{ path: route, element: ui }], { initialEntries: [path] });
  const result = render(
    <MantineProvider theme={theme}>
      <QueryClientProvider client={queryClient}>
        <RouterProvider router={router} />
      </QueryClientProvider>
    </MantineProvider>,
  );
  return { ...result, queryClient };
}

/** A fetch stub answering by "METHOD /path" (query ignored); unmatched requests fail the test loudly. */
export function stubFetch(routes: Record<string, (request: Request) => Response | Promise<Response>>) {
  const calls: Request[] = [];
  const fetchStub = async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = input instanceof Request ? input : new Request(input, init);
    calls.push(request.clone());
    const key = `${request.method} ${new URL(request.url).pathname}`;
    const handler = routes[key];
    if (!handler) throw new Error(`unexpected request ${key}`);
    return handler(request);
  };
  globalThis.fetch = fetchStub as typeof fetch;
  return calls;
}

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });
}

/** A first page of a list endpoint's answer ({items, total, limit, offset}). */
export function pageJson(items: unknown[], total = items.length): Response {
  return json({ items, total, limit: 50, offset: 0 });
}
