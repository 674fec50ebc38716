// The signed-in frame: header (colour scheme, account), navigation (a drawer below 768 px), the page.
import {
  ActionIcon,
  AppShell,
  Burger,
  Group,
  Menu,
  NavLink,
  ScrollArea,
  Text,
  Title,
  Tooltip,
  UnstyledButton,
  useComputedColorScheme,
  useMantineColorScheme,
} from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import {
  IconBox,
  IconHistory,
  IconKey,
  IconListDetails,
  IconLogout,
  IconMoon,
  IconPackages,
  IconRocket,
  IconServer,
  IconSun,
  IconTemplate,
  IconUsers,
} from "@tabler/icons-react";
import { Suspense } from "react";
import { NavLink as RouterNavLink, Outlet, useLocation } from "react-router";

import { useAuth } from "../auth/AuthContext";
import { LoadingState } from "../components/PageState";

interface NavItem {
  to: string;
  label: string;
  icon: typeof IconBox;
  admin?: boolean;
}

const MAIN_NAV: NavItem[] = [
  { to: "/templates", label: "Templates", icon: IconTemplate },
  { to: "/deploy", label: "New container", icon: IconRocket },
  { to: "/deployments", label: "Deployments", icon: IconListDetails },
  { to: "/buckets", label: "Package buckets", icon: IconPackages },
];

const SETTINGS_NAV: NavItem[] = [
  { to: "/settings/nodes", label: "Nodes", icon: IconServer },
  { to: "/settings/users", label: "Users and access", icon: IconUsers, admin: true },
  { to: "/settings/tokens", label: "API tokens", icon: IconKey },
  { to: "/settings/audit", label: "Audit log", icon: IconHistory, admin: true },
];

export function ColorSchemeToggle() {
  const { setColorScheme } = useMantineColorScheme();
  const computed = useComputedColorScheme("light");
  const next = computed === "dark" ? "light" : "dark";
  return (
    <Tooltip label={`Switch to ${next} mode`}>
      <ActionIcon variant="default" size="lg" aria-label={`Switch to ${next} mode`} onClick={() => setColorScheme(next)}>
        {computed === "dark" ? <IconSun size={18} aria-hidden /> : <IconMoon size={18} aria-hidden />}
      </ActionIcon>
    </Tooltip>
  );
}

export function Shell() {
  const [opened, { toggle, close }] = useDisclosure();
  const { me, logout, isAdmin } = useAuth();
  const location = useLocation();

  const link = (item: NavItem) => (
    <NavLink
      key={item.to}
      component={RouterNavLink}
      to={item.to}
      label={item.label}
      leftSection={<item.icon size={18} aria-hidden />}
      active={location.pathname === item.to || location.pathname.startsWith(`${item.to}/`)}
      onClick={close}
    />
  );

  return (
    <AppShell
      header={{ height: 56 }}
      navbar={{ width: 240, breakpoint: "sm", collapsed: { mobile: !opened } }}
      padding="md"
    >
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group gap="sm" wrap="nowrap">
            <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label="Toggle navigation" />
            <IconBox size={24} aria-hidden />
            <Title order={2} size="h4" visibleFrom="xs">
              LXC Template Manager
            </Title>
          </Group>
          <Group gap="xs" wrap="nowrap">
            <ColorSchemeToggle />
            <Menu position="bottom-end" withinPortal>
              <Menu.Target>
                <UnstyledButton aria-label="Account menu" px="xs">
                  <Text size="sm" fw={500} truncate maw={140}>
                    {me?.user.display_name || me?.user.username}
                  </Text>
                  <Text size="xs" c="dimmed">
                    {me?.role}
                  </Text>
                </UnstyledButton>
              </Menu.Target>
              <Menu.Dropdown>
                <Menu.Item leftSection={<IconLogout size={16} aria-hidden />} onClick={() => void logout()}>
                  Sign out
                </Menu.Item>
              </Menu.Dropdown>
            </Menu>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" aria-label="Main navigation">
        <ScrollArea>
          {MAIN_NAV.map(link)}
          <Text size="xs" c="dimmed" fw={600} tt="uppercase" mt="md" mb={4} px="sm">
            Settings
          </Text>
          {SETTINGS_NAV.filter((item) => !item.admin || isAdmin).map(link)}
        </ScrollArea>
      </AppShell.Navbar>
      <AppShell.Main>
        <Suspense fallback={<LoadingState />}>
          <Outlet />
        </Suspense>
      </AppShell.Main>
    </AppShell>
  );
}
