// Server state of the template pages: one place for query keys, fetchers and mutations.
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { api, type Schemas, unwrap } from "../../api/client";
import { pageParams } from "../../lib/paging";

export type TemplateSummary = Schemas["TemplateSummary"];
export type TemplateDetail = Schemas["TemplateDetail"];
export type TemplateWrite = Schemas["TemplateWrite"];
export type SyncReport = Schemas["SyncReportOut"];

export const PAGE_SIZE = 24;

export interface TemplateQuery {
  q?: string;
  tag?: string;
  os?: string;
  bucket?: string;
  origin?: "filesystem" | "dashboard" | "imported";
  sort?: "name" | "-name" | "updated_at" | "-updated_at" | "created_at" | "-created_at";
  page: number;
}

export const templateKeys = {
  all: ["templates"] as const,
  list: (query: TemplateQuery) => ["templates", "list", query] as const,
  detail: (name: string) => ["templates", "detail", name] as const,
  revisions: (name: string) => ["templates", "revisions", name] as const,
  diff: (name: string, from: number, to: number) => ["templates", "diff", name, from, to] as const,
};

export function useTemplateList(query: TemplateQuery) {
  return useQuery({
    queryKey: templateKeys.list(query),
    queryFn: ({ signal }) =>
      unwrap(
        api.GET("/api/v1/templates", {
          params: {
            query: {
              q: query.q || undefined,
              tag: query.tag || undefined,
              os: query.os || undefined,
              bucket: query.bucket || undefined,
              origin: query.origin,
              sort: query.sort ?? "name",
              ...pageParams(query.page, PAGE_SIZE),
            },
          },
          signal,
        }),
      ),
    // Keep the previous page on screen while the next one loads: no flash on typing.
    placeholderData: keepPreviousData,
  });
}

/** `forEdit`: always fetch on mount, so the editor starts from the latest revision and its ETag. */
export function useTemplate(name: string | undefined, { forEdit = false }: { forEdit?: boolean } = {}) {
  return useQuery({
    refetchOnMount: forEdit ? "always" : true,
    queryKey: templateKeys.detail(name ?? ""),
    queryFn: ({ signal }) => unwrap(api.GET("/api/v1/templates/{name}", { params: { path: { name: name! } }, signal })),
    enabled: Boolean(name),
  });
}

export function useBuckets() {
  return useQuery({
    queryKey: ["buckets", "all"],
    queryFn: ({ signal }) => unwrap(api.GET("/api/v1/buckets", { params: { query: { limit: 500 } }, signal })),
    staleTime: 60_000,
  });
}

export function useRevisions(name: string) {
  return useQuery({
    queryKey: templateKeys.revisions(name),
    queryFn: ({ signal }) =>
      unwrap(
        api.GET("/api/v1/templates/{name}/revisions", { params: { path: { name }, query: { limit: 200 } }, signal }),
      ),
  });
}

export function useRevisionDiff(name: string, from: number | null, to: number | null) {
  return useQuery({
    queryKey: templateKeys.diff(name, from ?? 0, to ?? 0),
    queryFn: ({ signal }) =>
      unwrap(
        api.GET("/api/v1/templates/{name}/diff", {
          params: { path: { name }, query: { from: from!, to: to! } },
          signal,
        }),
      ),
    enabled: from !== null && to !== null && from !== to,
  });
}

export function useSyncTemplates() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: () => unwrap(api.POST("/api/v1/templates/sync")),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: templateKeys.all }),
  });
}

export function useDeleteTemplate(name: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (etag: string) =>
      unwrap(api.DELETE("/api/v1/templates/{name}", { params: { path: { name }, header: { "if-match": etag } } })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: templateKeys.all }),
  });
}

export function useCloneTemplate(name: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (newName: string) =>
      unwrap(api.POST("/api/v1/templates/{name}/clone", { params: { path: { name } }, body: { name: newName } })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: templateKeys.all }),
  });
}

/** Create (no etag) or replace (with the ETag of the revision being edited). */
export function useSaveTemplate(name: string | undefined) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ body, etag }: { body: TemplateWrite; etag?: string }) =>
      name
        ? unwrap(
            api.PUT("/api/v1/templates/{name}", {
              params: { path: { name }, header: { "if-match": etag ?? null } },
              body,
            }),
          )
        : unwrap(api.POST("/api/v1/templates", { body })),
    onSuccess: (saved) => {
      queryClient.setQueryData(templateKeys.detail(saved.name), saved);
      return queryClient.invalidateQueries({ queryKey: templateKeys.all });
    },
  });
}
