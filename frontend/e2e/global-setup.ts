// Start `lxc-manager demo` (simulated 3-node cluster + the dashboard serving frontend/dist) in a throw-away
// data dir with a private copy of the templates, and hand its URL and admin password to the tests.
import { type ChildProcess, spawn } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));

interface DemoFile {
  url: string;
  admin: { username: string; password: string };
  nodes: string[];
}

async function waitForDemo(file: string, child: ChildProcess, log: () => string): Promise<DemoFile> {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`lxc-manager demo exited with ${child.exitCode}:\n${log()}`);
    if (existsSync(file)) return JSON.parse(readFileSync(file, "utf8")) as DemoFile;
    await new Promise((done) => setTimeout(done, 200));
  }
  throw new Error(`lxc-manager demo did not start within 90 s:\n${log()}`);
}

export default async function globalSetup(): Promise<() => Promise<void>> {
  if (!existsSync(join(ROOT, "frontend/dist/index.html"))) {
    throw new Error("frontend/dist is not built: run `make frontend-build` (make e2e does it)");
  }
  const work = mkdtempSync(join(tmpdir(), "lxcm-e2e-"));
  for (const part of ["templates", "buckets"]) {
    cpSync(join(ROOT, "infra/lxc", part), join(work, "lxc", part), { recursive: true });
  }
  let output = "";
  const child = spawn(
    join(ROOT, ".venv/bin/lxc-manager"),
    ["demo", "--port", "0", "--task-duration", "0.05"],
    {
      env: {
        ...process.env,
        LXCM_DATA_DIR: join(work, "data"),
        LXCM_TEMPLATES_DIR: join(work, "lxc/templates"),
        LXCM_FRONTEND_DIR: join(ROOT, "frontend/dist"),
        LXCM_LOG_LEVEL: "WARNING",
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const demo = await waitForDemo(join(work, "data/demo.json"), child, () => output.slice(-4000));
  process.env.LXCM_E2E_URL = demo.url;
  process.env.LXCM_E2E_ADMIN_PASSWORD = demo.admin.password;
  process.env.LXCM_E2E_NODES = demo.nodes.join(",");
  process.env.LXCM_E2E_TEMPLATES_DIR = join(work, "lxc/templates");

  return async () => {
    child.kill("SIGTERM");
    await new Promise((done) => {
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        done(null);
      }, 10_000);
      child.once("exit", () => {
        clearTimeout(timer);
        done(null);
      });
    });
    rmSync(work, { recursive: true, force: true });
  };
}
