import { Alert, Anchor, Button, Center, Divider, Paper, PasswordInput, Stack, Text, TextInput, Title } from "@mantine/core";
import { useForm } from "@mantine/form";
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Navigate, useNavigate, useSearchParams } from "react-router";

import { api, errorMessage, unwrap } from "../api/client";
import { useAuth } from "./AuthContext";

/** Only same-site paths: an open redirect through ?next= is refused. */
export function safeNext(raw: string | null): string {
  if (!raw || !raw.startsWith("/") || raw.startsWith("//") || raw.startsWith("/\\")) return "/templates";
  return raw;
}

export function LoginPage() {
  const { me, login } = useAuth();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const next = safeNext(params.get("next"));
  const [error, setError] = useState<string | null>(params.get("error"));
  const providers = useQuery({
    queryKey: ["auth", "providers"],
    queryFn: () => unwrap(api.GET("/api/v1/auth/providers")),
    staleTime: 300_000,
  });
  const form = useForm({
    initialValues: { username: "", password: "" },
    validate: {
      username: (v) => (v.trim() ? null : "Enter your username"),
      password: (v) => (v ? null : "Enter your password"),
    },
  });
  const [submitting, setSubmitting] = useState(false);

  if (me) return <Navigate to={next} replace />;

  const submit = form.onSubmit(async (values) => {
    setSubmitting(true);
    setError(null);
    try {
      await login(values.username.trim(), values.password);
      navigate(next, { replace: true });
    } catch (err) {
      setError(errorMessage(err));
      form.setFieldValue("password", "");
    } finally {
      setSubmitting(false);
    }
  });

  const oidc = providers.data?.oidc;
  return (
    <Center mih="100vh" p="md">
      <Paper withBorder shadow="sm" p="xl" radius="md" w="100%" maw={400}>
        <form onSubmit={submit} noValidate>
          <Stack>
            <div>
              <Title order={1} size="h3">
                LXC Template Manager
              </Title>
              <Text c="dimmed" size="sm">
                Sign in to deploy and run your containers
              </Text>
            </div>
            {error && (
              <Alert color="red" role="alert" title="Sign-in failed">
                {error}
              </Alert>
            )}
            <TextInput label="Username" autoComplete="username" autoFocus {...form.getInputProps("username")} />
            <PasswordInput label="Password" autoComplete="current-password" {...form.getInputProps("password")} />
            <Button type="submit" loading={submitting} fullWidth>
              Sign in
            </Button>
            {oidc?.enabled && oidc.login_url && (
              <>
                <Divider label="or" labelPosition="center" />
                <Button
                  component="a"
                  variant="default"
                  href={`${oidc.login_url}?next=${encodeURIComponent(next)}`}
                  fullWidth
                >
                  Sign in with {oidc.display_name}
                </Button>
              </>
            )}
            <Text size="xs" c="dimmed">
              First time? An admin creates accounts; see the <Anchor href="/docs">API docs</Anchor>.
            </Text>
          </Stack>
        </form>
      </Paper>
    </Center>
  );
}
