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
