// Turn deployment events into log rows (one row per text line) and the pure scroll maths of the log view.
import type { DeploymentEvent } from "./sse";

export type LineKind = "out" | "err" | "info" | "phase" | "ok" | "fail";

export interface LogLine {
  key: string;
  time: string;
  text: string;
  kind: LineKind;
}

function kindOf(event: DeploymentEvent): LineKind {
  if (event.type === "log") return event.status === "stderr" ? "err" : event.status === "stdout" ? "out" : "info";
  if (event.status === "failed" || event.status === "cancelled") return "fail";
  if (event.status === "succeeded") return "ok";
  return event.type === "phase" ? "phase" : "info";
}

function clock(ts: string): string {
  const date = new Date(ts);
  return Number.isNaN(date.getTime()) ? "" : date.toISOString().slice(11, 19);
}

/** Append the rows of `events` to `into` (in place: the log keeps one growing array). */
export function appendLines(into: LogLine[], events: DeploymentEvent[]): void {
  for (const event of events) {
    const kind = kindOf(event);
    const prefix = event.type === "log" ? "" : `[${event.phase ?? event.type}] `;
    const parts = `${prefix}${event.message}`.split("\n");
    const time = clock(event.ts);
    parts.forEach((text, index) => {
      into.push({ key: `${event.seq}.${index}`, time: index === 0 ? time : "", text, kind });
    });
  }
}

export interface Window {
  start: number;
  end: number; // exclusive
}

/** The rows to render for a scroll position, with `overscan` extra rows on each side. */
export function visibleWindow(
  scrollTop: number,
  viewport: number,
  rowHeight: number,
  total: number,
  overscan = 20,
): Window {
  const first = Math.floor(Math.max(0, scrollTop) / rowHeight);
  const count = Math.ceil(Math.max(viewport, rowHeight) / rowHeight);
  return { start: Math.max(0, first - overscan), end: Math.min(total, first + count + overscan) };
}

/** Whether the view is (near enough) at the bottom: following resumes there and stops when scrolled away. */
export function isAtBottom(scrollTop: number, clientHeight: number, scrollHeight: number, slack = 24): boolean {
  return scrollHeight - scrollTop - clientHeight <= slack;
}
