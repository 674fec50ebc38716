// Page links under a list, shown only when there is more than one page.
import { Group, Pagination, type PaginationProps } from "@mantine/core";

import { PAGE_SIZE, pageCount } from "../lib/paging";

type Props = Omit<PaginationProps, "total" | "value" | "onChange"> & {
  total: number | undefined; // items, not pages
  page: number;
  onChange: (page: number) => void;
  pageSize?: number;
};

export function ListPagination({ total, page, onChange, pageSize = PAGE_SIZE, ...rest }: Props) {
  const pages = pageCount(total, pageSize);
  if (pages <= 1) return null;
  return (
    <Group justify="center">
      <Pagination total={pages} value={Math.min(page, pages)} onChange={onChange} {...rest} />
    </Group>
  );
}
