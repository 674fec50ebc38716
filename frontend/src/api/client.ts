// The one typed client for /api/v1, generated types from openapi/openapi.json (make frontend-client).
import createClient, { type Middleware } from "openapi-fetch";

import type { components, paths } from "./schema";

export type Schemas = components["schemas"];
export type FieldError = Schemas["FieldError"];

/** Every 4xx/5xx answer of the API, as one error type the pages can show. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly fields: FieldError[];

  constructor(status: number, code: string, detail: string, fields: FieldError[] = []) {
    super(detail);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.fields = fields;
  }

  /** Field errors keyed by their path without the leading "body", e.g. "defaults.cores". */
  fieldMap(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const field of this.fields) {
      const path = field.loc.filter((part, index) => !(index === 0 && part === "body")).join(".");
      out[path] ??= field.msg;
    }
    return out;
  }
}

let csrfToken: string | null = null;
let onUnauthorized: (() => void) | null = null;

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

export function getCsrfToken(): string | null {
  return csrfToken;
}

/** The one place a 401 is handled: the auth provider registers a redirect to the login page. */
export function setUnauthorizedHandler(handler: (() => void) | null): void {
  onUnauthorized = handler;
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
// These answer 401 as part of their normal flow; the login page handles them itself.
const AUTH_PATHS = ["/api/v1/auth/login", "/api/v1/auth/me", "/api/v1/auth/csrf"];

const csrfAndSession: Middleware = {
  onRequest({ request }) {
    if (!SAFE_METHODS.has(request.method) && csrfToken) {
      request.headers.set("X-CSRF-Token", csrfToken);
    }
    return request;
  },
  onResponse({ request, response }) {
    const path = new URL(request.url).pathname;
    if (response.status === 401 && !AUTH_PATHS.includes(path)) {
      onUnauthorized?.();
    }
    return response;
  },
};

export const api = createClient<paths>({
  baseUrl: typeof window === "undefined" ? "http://localhost" : window.location.origin,
  credentials: "same-origin",
  // Looked up per call, so tests (and the SSE helper) can stand in for the network.
  fetch: (request: Request) => globalThis.fetch(request),
});
api.use(csrfAndSession);

interface FetchResult<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** Turn an openapi-fetch result into its data or a thrown ApiError. */
export async function unwrap<T>(pending: Promise<FetchResult<T>>): Promise<T> {
  const { data, error, response } = await pending;
  if (response.ok) {
    return data as T;
  }
  throw toApiError(response.status, error);
}

export function toApiError(status: number, body: unknown): ApiError {
  if (body && typeof body === "object" && "error" in body && "detail" in body) {
    const shaped = body as Schemas["ErrorResponse"];
    return new ApiError(status, shaped.error, shaped.detail, shaped.fields ?? []);
  }
  return new ApiError(status, "http_error", `The server answered ${status}`);
}

export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}
