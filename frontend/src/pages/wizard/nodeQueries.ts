// The node-scoped wizard queries (storages, OS templates, bridges, next VMID), shared by the steps.
import { useQuery } from "@tanstack/react-query";

import { api, ApiError, errorMessage, unwrap } from "../../api/client";

export function useNodeQuery<T>(nodeId: string, what: string, fetcher: (path: { node_id: string }) => Promise<T>) {
  return useQuery({
    queryKey: ["nodes", nodeId, what],
    queryFn: () => fetcher({ node_id: nodeId }),
    enabled: Boolean(nodeId),
    retry: false,
  });
}

export const fetchStorages = (path: { node_id: string }, content: "rootdir" | "vztmpl" = "rootdir") =>
  unwrap(api.GET("/api/v1/nodes/{node_id}/storages", { params: { path, query: { content } } }));
export const fetchOsTemplates = (path: { node_id: string }) =>
  unwrap(api.GET("/api/v1/nodes/{node_id}/os-templates", { params: { path } }));
export const fetchBridges = (path: { node_id: string }) =>
  unwrap(api.GET("/api/v1/nodes/{node_id}/bridges", { params: { path } }));
export const fetchNextVmid = (path: { node_id: string }) =>
  unwrap(api.GET("/api/v1/nodes/{node_id}/next-vmid", { params: { path } }));

/** A clear sentence for a node the caller may not use (403/404) or that did not answer (502/503). */
export function nodeProblem(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 403 || error.status === 404) {
      return "You have no access to this node (or it no longer exists). Choose another node, or ask an admin to grant you access.";
    }
    if (error.status === 502 || error.status === 503) return `The node did not answer: ${error.message}`;
  }
  return errorMessage(error);
}

export function formatBytes(bytes: number | null | undefined): string {
  if (bytes == null) return "?";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}
