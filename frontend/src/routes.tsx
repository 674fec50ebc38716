// Every page is its own chunk: the first paint loads only the shell and the page asked for.
import { lazy } from "react";
import { createBrowserRouter, Navigate, Outlet } from "react-router";

import { AuthProvider } from "./auth/AuthContext";
import { LoginPage } from "./auth/LoginPage";
import { RequireAuth } from "./auth/RequireAuth";
import { Shell } from "./layout/Shell";
import { NotFoundPage } from "./pages/NotFoundPage";

const TemplatesPage = lazy(() => import("./pages/templates/TemplatesPage"));
const TemplateDetailPage = lazy(() => import("./pages/templates/TemplateDetailPage"));
const TemplateEditorPage = lazy(() => import("./pages/templates/TemplateEditorPage"));
const BucketsPage = lazy(() => import("./pages/buckets/BucketsPage"));
const WizardPage = lazy(() => import("./pages/wizard/WizardPage"));
const DeploymentsPage = lazy(() => import("./pages/deployments/DeploymentsPage"));
const ProgressPage = lazy(() => import("./pages/deployments/ProgressPage"));
const NodesPage = lazy(() => import("./pages/settings/NodesPage"));
const UsersPage = lazy(() => import("./pages/settings/UsersPage"));
const TokensPage = lazy(() => import("./pages/settings/TokensPage"));
const AuditPage = lazy(() => import("./pages/settings/AuditPage"));

function Root() {
  return (
    <AuthProvider>
      <Outlet />
    </AuthProvider>
  );
}

export const routes = [
  {
    element: <Root />,
    children: [
      { path: "/login", element: <LoginPage /> },
      {
        element: (
          <RequireAuth>
            <Shell />
          </RequireAuth>
        ),
        children: [
          { path: "/", element: <Navigate to="/templates" replace /> },
          { path: "/templates", element: <TemplatesPage /> },
          { path: "/templates/new", element: <TemplateEditorPage /> },
          { path: "/templates/:name", element: <TemplateDetailPage /> },
          { path: "/templates/:name/edit", element: <TemplateEditorPage /> },
          { path: "/buckets", element: <BucketsPage /> },
          { path: "/deploy", element: <WizardPage /> },
          { path: "/deployments", element: <DeploymentsPage /> },
          { path: "/deployments/:id", element: <ProgressPage /> },
          { path: "/settings", element: <Navigate to="/settings/nodes" replace /> },
          { path: "/settings/nodes", element: <NodesPage /> },
          { path: "/settings/users", element: <UsersPage /> },
          { path: "/settings/tokens", element: <TokensPage /> },
          { path: "/settings/audit", element: <AuditPage /> },
          { path: "*", element: <NotFoundPage /> },
        ],
      },
    ],
  },
];

export function createRouter() {
  return createBrowserRouter(routes);
}
