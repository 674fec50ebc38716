// One template in the browser: light on purpose (hundreds of them may be rendered).
import { Anchor, Badge, Button, Card, Group, Stack, Text } from "@mantine/core";
import { memo } from "react";
import { Link } from "react-router";

import type { TemplateSummary } from "../api";

export const TemplateCard = memo(function TemplateCard({
  template,
  onTag,
}: {
  template: TemplateSummary;
  onTag: (tag: string) => void;
}) {
  return (
    <Card withBorder padding="md" component="article" aria-label={template.name}>
      <Stack gap="xs" h="100%">
        <Group justify="space-between" wrap="nowrap" gap="xs">
          <Anchor component={Link} to={`/templates/${template.name}`} fw={600} style={{ wordBreak: "break-word" }}>
            {template.name}
          </Anchor>
          <Badge variant="light" color={template.origin === "filesystem" ? "gray" : "indigo"} size="sm">
            {template.origin}
          </Badge>
        </Group>
        <Text size="sm" c="dimmed" lineClamp={2}>
          {template.description || "No description"}
        </Text>
        <Text size="xs" c="dimmed">
          {template.os_template} · revision {template.current_revision}
        </Text>
        {template.tags.length > 0 && (
          <Group gap={4}>
            {template.tags.map((tag) => (
              <Badge
                key={tag}
                component="button"
                type="button"
                variant="outline"
                size="sm"
                style={{ cursor: "pointer" }}
                onClick={() => onTag(tag)}
                aria-label={`Filter by tag ${tag}`}
              >
                {tag}
              </Badge>
            ))}
          </Group>
        )}
        <Group mt="auto" gap="xs">
          <Button
            component={Link}
            to={`/deploy?template=${encodeURIComponent(template.name)}`}
            size="xs"
            aria-label={`Deploy ${template.name}`}
          >
            Deploy
          </Button>
          <Button
            component={Link}
            to={`/templates/${template.name}`}
            size="xs"
            variant="default"
            aria-label={`Details of ${template.name}`}
          >
            Details
          </Button>
        </Group>
      </Stack>
    </Card>
  );
});
