// Offset paging as the list endpoints take it (limit/offset) and return it (total).
export const PAGE_SIZE = 50;

export function pageParams(page: number, pageSize = PAGE_SIZE) {
  return { limit: pageSize, offset: (page - 1) * pageSize };
}

export function pageCount(total: number | undefined, pageSize = PAGE_SIZE) {
  return total ? Math.max(1, Math.ceil(total / pageSize)) : 1;
}
