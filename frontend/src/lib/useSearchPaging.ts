// Search box text, its debounced value for the query, and the page; a new search goes back to page 1.
import { useDebouncedValue } from "@mantine/hooks";
import { useState } from "react";

export function useSearchPaging(delay = 250) {
  const [search, setSearchText] = useState("");
  const [debounced] = useDebouncedValue(search.trim(), delay);
  const [page, setPage] = useState(1);
  function setSearch(value: string) {
    setSearchText(value);
    setPage(1);
  }
  return { search, setSearch, debounced, page, setPage };
}
