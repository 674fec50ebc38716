// Packages are edited as text, one per line; the server's per-item errors ("packages.3") point back at lines.

export function parsePackages(text: string): string[] {
  return text
    .split(/[\n,]+/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
}

export function formatPackages(packages: string[]): string {
  return packages.join("\n");
}

/** Fold "packages" and "packages.<n>" errors into one message naming the offending entries. */
export function packagesError(fields: Record<string, string>, packages: string[]): string | undefined {
  const messages: string[] = [];
  if (fields.packages) messages.push(fields.packages);
  for (const [path, message] of Object.entries(fields)) {
    const match = /^packages\.(\d+)$/.exec(path);
    if (!match) continue;
    const index = Number(match[1]);
    messages.push(`Line ${index + 1} (${packages[index] ?? "?"}): ${message}`);
  }
  return messages.length ? messages.join("; ") : undefined;
}
