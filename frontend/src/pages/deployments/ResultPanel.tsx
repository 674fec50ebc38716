// What a succeeded deployment built: the address, the web UI links and the credentials.
import { Anchor, Card, Code, List, Stack, Text, Title } from "@mantine/core";
import { IconExternalLink } from "@tabler/icons-react";

import type { Schemas } from "../../api/client";
import { CredentialsSection } from "./CredentialsSection";

export function ResultPanel({ deployment }: { deployment: Schemas["DeploymentDetail"] }) {
  return (
    <Card withBorder radius="md" padding="md">
      <Stack gap="md">
        <Stack gap={4} component="section" aria-labelledby="address-title">
          <Title order={2} size="h4" id="address-title">Address</Title>
          {deployment.ip_address ? (
            <Text size="sm">
              <Code aria-label="Container address">{deployment.ip_address}</Code>
              {deployment.hostname && <> · {deployment.hostname}</>}
              {deployment.vmid != null && <> · VMID {deployment.vmid}</>}
            </Text>
          ) : (
            <Text size="sm" c="dimmed">The container reported no IP address.</Text>
          )}
        </Stack>
        <Stack gap={4} component="section" aria-labelledby="links-title">
          <Title order={2} size="h4" id="links-title">Web UI links</Title>
          {deployment.links.length === 0 ? (
            <Text size="sm" c="dimmed">This template declares no web UI.</Text>
          ) : (
            <List spacing={4} size="sm" aria-label="Web UI links">
              {deployment.links.map((link) => (
                <List.Item key={`${link.name}-${link.url}`}>
                  <Anchor href={link.url} target="_blank" rel="noopener noreferrer">
                    {link.name} <IconExternalLink size={12} aria-hidden />
                  </Anchor>{" "}
                  <Text span size="xs" c="dimmed" style={{ wordBreak: "break-all" }}>{link.url}</Text>
                </List.Item>
              ))}
            </List>
          )}
        </Stack>
        {deployment.container_id && <CredentialsSection containerId={deployment.container_id} />}
      </Stack>
    </Card>
  );
}
