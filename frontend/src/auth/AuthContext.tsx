// Who is signed in, sign-in/out, and the one 401 → login redirect of the app.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo } from "react";
import { useNavigate } from "react-router";

import { api, ApiError, type Schemas, setCsrfToken, setUnauthorizedHandler, unwrap } from "../api/client";

export type Me = Schemas["MeResponse"];

interface AuthValue {
  me: Me | null;
  loading: boolean;
  login: (username: string, password: string) => Promise<void>;
  logout: () => Promise<void>;
  isAdmin: boolean;
  canWrite: boolean;
}

const AuthContext = createContext<AuthValue | null>(null);
export const ME_KEY = ["auth", "me"] as const;

async function fetchMe(): Promise<Me | null> {
  const { data, response } = await api.GET("/api/v1/auth/me");
  if (response.status === 401) return null;
  if (!response.ok || !data) throw new ApiError(response.status, "me_failed", "Could not load your account");
  if (data.via === "session") {
    // After a reload the CSRF token is gone from memory: the session hands it out again.
    const csrf = await api.GET("/api/v1/auth/csrf");
    setCsrfToken(csrf.data?.csrf_token ?? null);
  }
  return data;
}

export function AuthProvider({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const meQuery = useQuery({ queryKey: ME_KEY, queryFn: fetchMe, staleTime: 60_000, retry: false });

  useEffect(() => {
    setUnauthorizedHandler(() => {
      setCsrfToken(null);
      queryClient.setQueryData(ME_KEY, null);
      const here = window.location.pathname + window.location.search;
      if (!window.location.pathname.startsWith("/login")) {
        navigate(`/login?next=${encodeURIComponent(here)}`, { replace: true });
      }
    });
    return () => setUnauthorizedHandler(null);
  }, [navigate, queryClient]);

  const login = useCallback(
    async (username: string, password: string) => {
      const result = await unwrap(api.POST("/api/v1/auth/login", { body: { username, password } }));
      setCsrfToken(result.csrf_token);
      queryClient.clear();
      await queryClient.fetchQuery({ queryKey: ME_KEY, queryFn: fetchMe });
    },
    [queryClient],
  );

  const logout = useCallback(async () => {
    await api.POST("/api/v1/auth/logout");
    setCsrfToken(null);
    queryClient.clear();
    queryClient.setQueryData(ME_KEY, null);
    navigate("/login", { replace: true });
  }, [navigate, queryClient]);

  const me = meQuery.data ?? null;
  const value = useMemo<AuthValue>(
    () => ({
      me,
      loading: meQuery.isPending,
      login,
      logout,
      isAdmin: me?.role === "admin",
      canWrite: me?.role === "admin" || me?.role === "operator",
    }),
    [me, meQuery.isPending, login, logout],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthValue {
  const value = useContext(AuthContext);
  if (!value) throw new Error("useAuth outside AuthProvider");
  return value;
}
