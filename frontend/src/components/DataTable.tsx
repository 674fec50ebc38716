// A striped, horizontally scrolling table with plain column headers; the caller gives the rows.
import { Table } from "@mantine/core";
import type { ReactNode } from "react";

export function SimpleTable({ headers, minWidth = 480, children }: { headers: string[]; minWidth?: number; children: ReactNode }) {
  return (
    <Table.ScrollContainer minWidth={minWidth}>
      <Table striped>
        <Table.Thead>
          <Table.Tr>
            {headers.map((header) => (
              <Table.Th key={header}>{header}</Table.Th>
            ))}
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>{children}</Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}
