// The SSO identities (issuer + subject) that sign in as this user.
import { ActionIcon, Alert, Button, Code, Group, Stack, Text, TextInput } from "@mantine/core";
import { IconTrash } from "@tabler/icons-react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";

import { api, ApiError, errorMessage, type Schemas, unwrap } from "../../../api/client";
import { formatDateTime } from "./format";

export function UserOidcLinks({ user }: { user: Schemas["UserOut"] }) {
  const queryClient = useQueryClient();
  const key = ["users", user.id, "oidc-links"];
  const [subject, setSubject] = useState("");
  const [issuer, setIssuer] = useState("");
  const links = useQuery({
    queryKey: key,
    queryFn: () => unwrap(api.GET("/api/v1/users/{user_id}/oidc-links", { params: { path: { user_id: user.id } } })),
  });
  const add = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/v1/users/{user_id}/oidc-links", {
          params: { path: { user_id: user.id } },
          body: { subject: subject.trim(), issuer: issuer.trim() || null },
        }),
      ),
    onSuccess: () => {
      setSubject("");
      setIssuer("");
      void queryClient.invalidateQueries({ queryKey: key });
    },
  });
  const remove = useMutation({
    mutationFn: (linkId: string) =>
      unwrap(api.DELETE("/api/v1/users/{user_id}/oidc-links/{link_id}", { params: { path: { user_id: user.id, link_id: linkId } } })),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: key }),
  });
  const fields = add.error instanceof ApiError ? add.error.fieldMap() : {};

  return (
    <Stack gap="xs" aria-label="SSO links" role="group">
      <Text fw={600} size="sm">
        SSO links
      </Text>
      {links.isPending && <Text size="sm">Loading…</Text>}
      {links.isError && <Text size="sm" c="red">{errorMessage(links.error)}</Text>}
      {links.data?.length === 0 && (
        <Text size="sm" c="dimmed">
          No SSO identity is linked to this user.
        </Text>
      )}
      {links.data?.map((link) => (
        <Group key={link.id} justify="space-between" wrap="nowrap" gap="xs">
          <div style={{ minWidth: 0 }}>
            <Text size="sm" style={{ wordBreak: "break-all" }}>
              <Code>{link.subject}</Code> at {link.issuer}
            </Text>
            <Text size="xs" c="dimmed">
              {link.email ?? "no email"} · last sign-in {formatDateTime(link.last_login_at, "never")}
            </Text>
          </div>
          <ActionIcon
            variant="subtle"
            color="red"
            aria-label={`Remove SSO link ${link.subject}`}
            onClick={() => remove.mutate(link.id)}
            loading={remove.isPending && remove.variables === link.id}
          >
            <IconTrash size={16} aria-hidden />
          </ActionIcon>
        </Group>
      ))}
      <Group align="flex-end" gap="xs" wrap="wrap">
        <LinkField
          label="SSO subject"
          description="The identity provider's sub claim"
          value={subject}
          onChange={setSubject}
          error={fields.subject}
        />
        <LinkField label="Issuer" description="Blank: the configured one" value={issuer} onChange={setIssuer} error={fields.issuer} />
        <Button variant="light" onClick={() => add.mutate()} disabled={!subject.trim()} loading={add.isPending}>
          Link identity
        </Button>
      </Group>
      {(add.isError && Object.keys(fields).length === 0) || remove.isError ? (
        <Alert color="red" role="alert">
          {errorMessage(add.error ?? remove.error)}
        </Alert>
      ) : null}
    </Stack>
  );
}

function LinkField({
  onChange,
  ...rest
}: {
  label: string;
  description: string;
  value: string;
  onChange: (value: string) => void;
  error?: string;
}) {
  return <TextInput onChange={(event) => onChange(event.currentTarget.value)} style={{ flex: "1 1 160px" }} {...rest} />;
}
