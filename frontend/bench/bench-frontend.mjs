// SPA benchmark (issue 7): gzipped size of the initial JS, and time to first render, in headless Chromium, of
//   - the templates browser with 500 templates,
//   - the progress page replaying a deployment with 5,000 log lines.
// Both run against the real backend + simulator (`lxc-manager demo`); the 5,000 lines come from a real
// deployment of a template whose script prints them. Each page is loaded --runs times in a fresh browser
// context (cold cache, new session) and the median is reported. Goals: < 300 KB gz, < 1.5 s per page.
//
//   make bench-frontend            (cd frontend && node bench/bench-frontend.mjs [--runs 7] [--templates 500])
import { spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";

import { chromium } from "playwright-core";

const ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const DIST = join(ROOT, "frontend/dist");
const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"];
const LOG_LINES = 5000;

const { values: opts } = parseArgs({
  options: { runs: { type: "string", default: "7" }, templates: { type: "string", default: "500" } },
});
const RUNS = Number(opts.runs);
const TEMPLATES = Number(opts.templates);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

/** Every script and modulepreload the first page load fetches, gzipped at level 9. */
function initialJs() {
  const html = readFileSync(join(DIST, "index.html"), "utf8");
  const files = [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.js)"/g)].map((m) => m[1]);
  let raw = 0;
  let gz = 0;
  for (const file of new Set(files)) {
    const bytes = readFileSync(join(DIST, file));
    raw += bytes.length;
    gz += gzipSync(bytes, { level: 9 }).length;
  }
  return { files: files.length, raw, gz };
}

function makeTemplates(dir) {
  const source = join(ROOT, "infra/lxc/templates/minimal");
  cpSync(join(ROOT, "infra/lxc/buckets"), join(dir, "buckets"), { recursive: true });
  for (let i = 0; i < TEMPLATES; i++) {
    const name = `gen-${String(i).padStart(4, "0")}`;
    const target = join(dir, "templates", name);
    cpSync(source, target, { recursive: true });
    const manifest = join(target, "template.yaml");
    writeFileSync(manifest, readFileSync(manifest, "utf8").replace("name: minimal", `name: ${name}`)
      .replace("tags: [debian, demo, web]", `tags: [debian, bench, group-${i % 10}]`));
  }
  // A template whose one script prints LOG_LINES lines: a real deployment fills the progress log.
  const chatty = join(dir, "templates", "chatty");
  cpSync(source, chatty, { recursive: true });
  const manifest = join(chatty, "template.yaml");
  writeFileSync(manifest, readFileSync(manifest, "utf8").replace("name: minimal", "name: chatty"));
  for (const script of readdirSync(join(chatty, "scripts"))) {
    const path = join(chatty, "scripts", script);
    writeFileSync(path, `${readFileSync(path, "utf8")}\ni=1\nwhile [ "$i" -le ${LOG_LINES} ]; do echo "log line $i of the bench"; i=$((i + 1)); done\n`);
  }
}

async function startDemo(work) {
  const env = { ...process.env, LXCM_DATA_DIR: join(work, "data"), LXCM_TEMPLATES_DIR: join(work, "lxc/templates"),
    LXCM_FRONTEND_DIR: DIST, LXCM_LOG_LEVEL: "WARNING" };
  const child = spawn(join(ROOT, ".venv/bin/lxc-manager"), ["demo", "--port", "0", "--task-duration", "0.02"],
    { env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (c) => (output += c));
  child.stderr.on("data", (c) => (output += c));
  const file = join(work, "data/demo.json");
  for (let waited = 0; waited < 120_000; waited += 200) {
    if (child.exitCode !== null) throw new Error(`demo exited ${child.exitCode}: ${output.slice(-2000)}`);
    if (existsSync(file)) return { child, demo: JSON.parse(readFileSync(file, "utf8")) };
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`demo did not start: ${output.slice(-2000)}`);
}

async function api(url, path, { method = "GET", body, cookie = "", csrf } = {}) {
  const headers = { cookie, "content-type": "application/json" };
  if (csrf) headers["X-CSRF-Token"] = csrf;
  const response = await fetch(url + path, { method, headers, body: body && JSON.stringify(body) });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return response;
}

async function chattyDeployment(demo) {
  const login = await api(demo.url, "/api/v1/auth/login", { method: "POST", body: demo.admin });
  const cookie = login.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
  const { csrf_token: csrf } = await login.json();
  const nodes = await (await api(demo.url, "/api/v1/nodes", { cookie })).json();
  const created = await (await api(demo.url, "/api/v1/deployments",
    { method: "POST", cookie, csrf, body: { template: "chatty", node_id: nodes[0].id } })).json();
  for (let waited = 0; waited < 180_000; waited += 500) {
    const d = await (await api(demo.url, `/api/v1/deployments/${created.id}`, { cookie })).json();
    if (d.status === "succeeded") return created.id;
    if (["failed", "cancelled"].includes(d.status)) throw new Error(`chatty deployment ${d.status}: ${d.error_message}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error("chatty deployment did not finish in 180 s");
}

// Runs in the page before any script: stamps performance.now() when `probe()` first holds, checked each frame.
function installProbe(kind) {
  const probes = {
    templates: () => document.querySelector('a[href^="/templates/gen-"]') !== null,
    progress: () => document.evaluate("//*[contains(text(), 'log line 5000 of the bench')]", document, null,
      XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue !== null,
  };
  const probe = probes[kind];
  const tick = () => {
    if (probe()) window.__lxcmRendered = performance.now();
    else requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}

async function firstRender(browser, demo, path, kind) {
  const samples = [];
  for (let run = 0; run < RUNS; run++) {
    const context = await browser.newContext({ baseURL: demo.url, viewport: { width: 1280, height: 800 } });
    const login = await context.request.post("/api/v1/auth/login", { data: demo.admin });
    if (!login.ok()) throw new Error(`login: ${login.status()}`);
    const page = await context.newPage();
    await page.addInitScript(installProbe, kind);
    await page.goto(path);
    await page.waitForFunction(() => window.__lxcmRendered !== undefined, null, { timeout: 30_000 });
    samples.push(await page.evaluate(() => window.__lxcmRendered));
    await context.close();
  }
  return samples;
}

async function main() {
  if (!existsSync(join(DIST, "index.html"))) throw new Error("build the SPA first: make frontend-build");
  const js = initialJs();
  const work = mkdtempSync(join(tmpdir(), "lxcm-bench-frontend-"));
  mkdirSync(join(work, "lxc"), { recursive: true });
  makeTemplates(join(work, "lxc"));
  const { child, demo } = await startDemo(work);
  const browser = await chromium.launch({ executablePath: process.env.LXCM_CHROMIUM ?? "/usr/bin/chromium", args: CHROMIUM_ARGS });
  try {
    const deploymentId = await chattyDeployment(demo);
    const templates = await firstRender(browser, demo, "/templates", "templates");
    const progress = await firstRender(browser, demo, `/deployments/${deploymentId}`, "progress");
    const ms = (x) => `${x.toFixed(0)} ms`;
    const lines = [
      `SPA benchmark — ${RUNS} cold loads per page, headless Chromium, median (min–max)`,
      `initial JS            ${(js.gz / 1024).toFixed(1)} KB gz (${(js.raw / 1024).toFixed(0)} KB raw, ${js.files} files)   goal < 300 KB gz`,
      `templates (${TEMPLATES})      ${ms(median(templates))} (${ms(Math.min(...templates))}–${ms(Math.max(...templates))})   goal < 1500 ms`,
      `progress (${LOG_LINES} lines) ${ms(median(progress))} (${ms(Math.min(...progress))}–${ms(Math.max(...progress))})   goal < 1500 ms`,
    ];
    process.stdout.write(`${lines.join("\n")}\n`);
  } finally {
    await browser.close();
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
