// The browser's filters live in the URL query, so a reload or a shared link shows the same list.
import { useCallback, useMemo } from "react";
import { useSearchParams } from "react-router";

import type { TemplateQuery } from "./api";

const ORIGINS = ["filesystem", "dashboard", "imported"] as const;
const SORTS = ["name", "-name", "updated_at", "-updated_at", "created_at", "-created_at"] as const;

type FilterKey = "q" | "tag" | "os" | "bucket" | "origin" | "sort";

export function useTemplateSearch() {
  const [params, setParams] = useSearchParams();

  const query = useMemo<TemplateQuery>(() => {
    const origin = params.get("origin");
    const sort = params.get("sort");
    const page = Number(params.get("page") ?? "1");
    return {
      q: params.get("q") ?? "",
      tag: params.get("tag") ?? "",
      os: params.get("os") ?? "",
      bucket: params.get("bucket") ?? "",
      origin: (ORIGINS as readonly string[]).includes(origin ?? "") ? (origin as TemplateQuery["origin"]) : undefined,
      sort: (SORTS as readonly string[]).includes(sort ?? "") ? (sort as TemplateQuery["sort"]) : "name",
      page: Number.isInteger(page) && page > 0 ? page : 1,
    };
  }, [params]);

  /** Change one filter; any filter change goes back to page 1. */
  const setFilter = useCallback(
    (key: FilterKey, value: string | null) => {
      setParams(
        (prev) => {
          const next = new URLSearchParams(prev);
          if (value) next.set(key, value);
          else next.delete(key);
          next.delete("page");
          return next;
        },
        { replace: true },
      );
    },
    [setParams],
  );

  const setPage = useCallback(
    (page: number) => {
      setParams((prev) => {
        const next = new URLSearchParams(prev);
        if (page > 1) next.set("page", String(page));
        else next.delete("page");
        return next;
      });
    },
    [setParams],
  );

  const clear = useCallback(() => setParams(new URLSearchParams(), { replace: true }), [setParams]);

  const filtered = Boolean(query.q || query.tag || query.os || query.bucket || query.origin);
  return { query, setFilter, setPage, clear, filtered };
}
