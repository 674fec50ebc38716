// Every control has an accessible name: axe-core's naming rules on a rendered page.
import { createRequire } from "node:module";

import { expect, type Page } from "@playwright/test";

const AXE = createRequire(import.meta.url).resolve("axe-core/axe.min.js");
const NAMING_RULES = [
  "button-name",
  "link-name",
  "label",
  "select-name",
  "input-button-name",
  "aria-input-field-name",
  "aria-toggle-field-name",
  "aria-command-name",
  "image-alt",
  "svg-img-alt",
];

interface Violation {
  id: string;
  nodes: { target: string[] }[];
}

export async function expectNamedControls(page: Page, where: string): Promise<void> {
  await page.addScriptTag({ path: AXE });
  const violations = await page.evaluate(async (rules) => {
    const axe = (window as unknown as { axe: { run: (ctx: Document, opts: object) => Promise<{ violations: Violation[] }> } }).axe;
    const result = await axe.run(document, { runOnly: { type: "rule", values: rules } });
    return result.violations.map((v) => ({ id: v.id, nodes: v.nodes.map((n) => ({ target: n.target })) }));
  }, NAMING_RULES);
  expect(violations, `${where}: controls without an accessible name`).toEqual([]);
}
