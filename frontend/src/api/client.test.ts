import { api, ApiError, setCsrfToken, setUnauthorizedHandler, toApiError, unwrap } from "./client";
import { json, stubFetch } from "../test/render";

describe("api client", () => {
  afterEach(() => {
    setCsrfToken(null);
    setUnauthorizedHandler(null);
  });

  it("sends the CSRF token on writes only", async () => {
    const calls = stubFetch({
      "POST /api/v1/templates/sync": () => json({ created: 0, updated: 0, unchanged: 0, archived: 0, errors: [] }),
      "GET /api/v1/buckets": () => json([]),
    });
    setCsrfToken("tok-123");
    await api.POST("/api/v1/templates/sync");
    await api.GET("/api/v1/buckets");
    expect(calls[0]!.headers.get("X-CSRF-Token")).toBe("tok-123");
    expect(calls[1]!.headers.get("X-CSRF-Token")).toBeNull();
  });

  it("calls the one 401 handler, except for the auth probes", async () => {
    stubFetch({
      "GET /api/v1/buckets": () => json({ error: "unauthorized", detail: "Sign in" }, 401),
      "GET /api/v1/auth/me": () => json({ error: "unauthorized", detail: "Sign in" }, 401),
    });
    const handler = vi.fn();
    setUnauthorizedHandler(handler);
    await api.GET("/api/v1/auth/me");
    expect(handler).not.toHaveBeenCalled();
    await expect(unwrap(api.GET("/api/v1/buckets"))).rejects.toBeInstanceOf(ApiError);
    expect(handler).toHaveBeenCalledTimes(1);
  });

  it("maps field errors without the body prefix", () => {
    const error = toApiError(422, {
      error: "validation_error",
      detail: "Invalid request",
      fields: [
        { loc: ["body", "defaults", "cores"], msg: "must be ≥ 1", type: "greater_than_equal" },
        { loc: ["body", "name"], msg: "bad name", type: "value_error" },
      ],
    });
    expect(error.status).toBe(422);
    expect(error.fieldMap()).toEqual({ "defaults.cores": "must be ≥ 1", name: "bad name" });
  });

  it("gives a readable error for a body that is not the API's shape", () => {
    const error = toApiError(502, "<html>bad gateway</html>");
    expect(error.code).toBe("http_error");
    expect(error.message).toContain("502");
  });
});
