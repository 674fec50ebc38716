// Test helpers for these pages: the signed-in account answered by GET /auth/me.
import type { ReactElement } from "react";

import type { Schemas } from "../../../api/client";
import { AuthProvider } from "../../../auth/AuthContext";
import { RequireAuth } from "../../../auth/RequireAuth";
import { json, type RenderOptions, renderWithApp } from "../../../test/render";

export type Role = Schemas["Role"];

export function userOut(overrides: Partial<Schemas["UserOut"]> = {}): Schemas["UserOut"] {
  return {
    id: "u-1",
    username: "alice",
    display_name: null,
    email: null,
    role: "admin",
    is_active: true,
    has_password: true,
    created_at: "2026-01-01T10:00:00Z",
    updated_at: "2026-01-01T10:00:00Z",
    last_login_at: null,
    password_changed_at: null,
    ...overrides,
  };
}

export function nodeOut(overrides: Partial<Schemas["NodeOut"]> = {}): Schemas["NodeOut"] {
  return {
    id: "n-1",
    name: "pve1",
    api_url: "https://pve1:8006",
    pve_node: null,
    token_id: "lxcm@pve!dash",
    has_token_secret: true,
    tls_mode: "system",
    tls_fingerprint: null,
    tls_ca_bundle: null,
    ssh_host: null,
    ssh_port: 22,
    ssh_user: "root",
    has_ssh_private_key: false,
    ssh_host_key: null,
    last_test_at: null,
    last_test_ok: null,
    pve_version: null,
    created_at: "2026-01-01T10:00:00Z",
    updated_at: "2026-01-01T10:00:00Z",
    ...overrides,
  };
}

const SCOPES: Record<Role, Schemas["Scope"][]> = {
  admin: ["read", "write", "admin"],
  operator: ["read", "write"],
  viewer: ["read"],
};

/** The /auth/me route for a token-signed-in account (no CSRF round trip). */
export function meRoute(role: Role, username = "alice") {
  return {
    "GET /api/v1/auth/me": () =>
      json({ user: userOut({ role, username }), role, scopes: SCOPES[role], via: "token" }),
  };
}

/** Render a page as the app does behind the login: AuthProvider, then RequireAuth's wait for /auth/me. */
export function renderAsPage(ui: ReactElement, options: RenderOptions = {}) {
  return renderWithApp(
    <AuthProvider>
      <RequireAuth>{ui}</RequireAuth>
    </AuthProvider>,
    options,
  );
}
