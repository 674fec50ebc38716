// Trust on first use, done carefully: fetch the node's certificate, show its fingerprint, and let the
// admin confirm it matches what the node itself reports before it is pinned.
import { Alert, Button, Checkbox, Code, Paper, SimpleGrid, Stack, Text } from "@mantine/core";
import { IconCertificate } from "@tabler/icons-react";
import { useMutation } from "@tanstack/react-query";

import { api, errorMessage, type Schemas, unwrap } from "../../../api/client";
import { LabeledValue } from "../../../components/LabeledValue";
import { formatDateTime } from "./format";

export interface ProbeState {
  certificate: Schemas["CertificateOut"] | null;
  /** The API URL as typed when probed: a later edit of the URL voids the confirmation. */
  probedUrl: string;
  confirmed: boolean;
}

export const EMPTY_PROBE: ProbeState = { certificate: null, probedUrl: "", confirmed: false };

interface Props {
  apiUrl: string;
  probe: ProbeState;
  onChange: (probe: ProbeState) => void;
  error?: string;
  /** Shown when editing: the fingerprint pinned now. */
  currentFingerprint?: string | null;
}

export function CertificateCheck({ apiUrl, probe, onChange, error, currentFingerprint }: Props) {
  const fetchCertificate = useMutation({
    mutationFn: (url: string) => unwrap(api.POST("/api/v1/nodes/probe-certificate", { body: { api_url: url } })),
    onSuccess: (certificate, url) => onChange({ certificate, probedUrl: url, confirmed: false }),
  });
  const stale = probe.certificate !== null && probe.probedUrl !== apiUrl.trim();
  const certificate = stale ? null : probe.certificate;

  return (
    <Paper withBorder p="sm" radius="md">
      <Stack gap="sm">
        <Text fw={600} size="sm">
          Certificate fingerprint
        </Text>
        {currentFingerprint && !certificate && (
          <Text size="xs">
            Pinned now: <Code style={{ wordBreak: "break-all" }}>{currentFingerprint}</Code>
          </Text>
        )}
        <Text size="xs" c="dimmed">
          Fetch the certificate the node presents at the API URL, then compare its SHA-256 fingerprint with the one the
          node shows (Proxmox web UI: node → System → Certificates, or <Code>pvenode cert info</Code> on the node).
        </Text>
        <Button
          variant="light"
          leftSection={<IconCertificate size={16} aria-hidden />}
          onClick={() => fetchCertificate.mutate(apiUrl.trim())}
          loading={fetchCertificate.isPending}
          disabled={!apiUrl.trim()}
          style={{ alignSelf: "flex-start" }}
        >
          {certificate ? "Fetch certificate again" : "Fetch certificate"}
        </Button>
        {fetchCertificate.isError && (
          <Alert color="red" title="Could not fetch the certificate" role="alert">
            {errorMessage(fetchCertificate.error)}
          </Alert>
        )}
        {stale && (
          <Text size="xs" c="orange">
            The API URL changed since the certificate was fetched: fetch it again.
          </Text>
        )}
        {certificate && (
          <Stack gap="xs" aria-label="Fetched certificate" role="group">
            <Text size="sm">SHA-256 fingerprint</Text>
            <Code block data-testid="certificate-fingerprint" style={{ wordBreak: "break-all", whiteSpace: "pre-wrap" }}>
              {certificate.fingerprint_sha256}
            </Code>
            <SimpleGrid cols={{ base: 1, sm: 2 }} spacing="xs">
              <LabeledValue label="Probed URL" value={certificate.api_url} />
              <LabeledValue label="Subject" value={certificate.subject} />
              <LabeledValue label="Issuer" value={certificate.issuer} />
              <LabeledValue label="Valid" value={`${formatDateTime(certificate.not_before)} – ${formatDateTime(certificate.not_after)}`} />
              {certificate.san.length > 0 && <LabeledValue label="Names (SAN)" value={certificate.san.join(", ")} />}
            </SimpleGrid>
            <Checkbox
              label="I have checked that this fingerprint matches the node's certificate"
              checked={probe.confirmed}
              onChange={(event) => onChange({ ...probe, confirmed: event.currentTarget.checked })}
            />
          </Stack>
        )}
        {error && (
          <Text size="sm" c="red" role="alert">
            {error}
          </Text>
        )}
      </Stack>
    </Paper>
  );
}
