// A striped, horizontally scrolling table with plain column headers (false leaves a column out);
// the caller gives the rows.
import { Table, type TableProps } from "@mantine/core";
import type { ReactNode } from "react";

type Props = Omit<TableProps, "children"> & {
  headers: (string | false)[];
  minWidth?: number;
  children: ReactNode;
};

export function DataTable({ headers, minWidth = 480, children, ...tableProps }: Props) {
  return (
    <Table.ScrollContainer minWidth={minWidth}>
      <Table striped {...tableProps}>
        <Table.Thead>
          <Table.Tr>
            {headers.filter((header) => header !== false).map((header) => (
              <Table.Th key={header}>{header}</Table.Th>
            ))}
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>{children}</Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}
