// What each role may do, next to the users list.
import { Badge, Paper, SimpleGrid, Text } from "@mantine/core";

import { ROLE_COLOR, ROLES } from "./roles";

export function RolesHelp() {
  return (
    <SimpleGrid cols={{ base: 1, sm: 3 }} spacing="sm" aria-label="Roles">
      {ROLES.map((role) => (
        <Paper key={role.value} withBorder p="sm" radius="md">
          <Badge color={ROLE_COLOR[role.value]} variant="light" mb={6}>
            {role.label}
          </Badge>
          <Text size="sm" c="dimmed">
            {role.help}
          </Text>
        </Paper>
      ))}
    </SimpleGrid>
  );
}
