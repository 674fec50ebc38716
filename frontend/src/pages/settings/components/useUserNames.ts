// Every user (up to 500), for pickers and for showing owners by name; one cache entry for all of them.
import { useQuery } from "@tanstack/react-query";

import { api, unwrap } from "../../../api/client";

export function useUserNames(enabled = true) {
  return useQuery({
    queryKey: ["users", "names"],
    queryFn: () => unwrap(api.GET("/api/v1/users", { params: { query: { limit: 500 } } })),
    enabled,
  });
}
