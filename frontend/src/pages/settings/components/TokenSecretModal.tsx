// The new token's secret, shown this once: the server cannot show it again.
import { Alert, Button, Code, CopyButton, Group, Modal, Stack, Text } from "@mantine/core";
import { IconAlertTriangle, IconCheck, IconCopy } from "@tabler/icons-react";

import type { Schemas } from "../../../api/client";

export function TokenSecretModal({ token, onClose }: { token: Schemas["TokenCreated"] | null; onClose: () => void }) {
  return (
    <Modal
      opened={token !== null}
      onClose={onClose}
      title="Your new API token"
      size="lg"
      // Closing by accident would lose the secret for good.
      closeOnClickOutside={false}
    >
      {token && (
        <Stack gap="md">
          <Alert color="orange" icon={<IconAlertTriangle aria-hidden />} title="Copy it now">
            This is the only time the token is shown. You will not see it again: store it somewhere safe (a password
            manager or your tool's secret store).
          </Alert>
          <Text size="sm">
            Token <b>{token.name}</b> ({token.scopes.join(", ")})
          </Text>
          <Code block aria-label="API token secret" style={{ wordBreak: "break-all", whiteSpace: "pre-wrap" }}>
            {token.token}
          </Code>
          <Text size="xs" c="dimmed">
            Send it as <Code>Authorization: Bearer &lt;token&gt;</Code>.
          </Text>
          <Group justify="space-between" gap="xs">
            <CopyButton value={token.token} timeout={2000}>
              {({ copied, copy }) => (
                <Button
                  color={copied ? "teal" : undefined}
                  variant="light"
                  leftSection={copied ? <IconCheck size={16} aria-hidden /> : <IconCopy size={16} aria-hidden />}
                  onClick={copy}
                >
                  {copied ? "Copied" : "Copy token"}
                </Button>
              )}
            </CopyButton>
            <Button onClick={onClose}>I have stored it</Button>
          </Group>
        </Stack>
      )}
    </Modal>
  );
}
